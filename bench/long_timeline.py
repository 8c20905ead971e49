"""A long timeline (issue #14): ``get_state`` on a 4,000-segment draft, and its summary alone.

* ``get_state`` through MCP stdio against fetching the same state with bare httpx and parsing its
  JSON, interleaved in the same run: what reading a long project costs on top of downloading it.
* The summary (the draft read into a timeline, its outline within the budgets, the structured
  result dumped) against ``json.loads`` of the same draft's text, in this process.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

import httpx
from mcp import Client

from bench.common import EmulatorProcess, Row, Sizes, api_headers, ms, server_env, verdict
from bench.drafts import long_draft
from bench.latency import _check, stdio_params
from nemo_mcp import budget
from nemo_mcp.cloud import api
from nemo_mcp.draft import parse_draft
from nemo_mcp.results import StateResult

GET_STATE_TARGET = 1.5  # × fetching and parsing the same state with bare httpx
SUMMARY_TARGET_S = 0.020


async def get_state_row(emu: EmulatorProcess, workdir: Path, sizes: Sizes) -> Row:
    env = {**os.environ, **server_env(emu.url, workdir)}
    n = sizes.long_segments
    async with (
        Client(stdio_params(env)) as client,
        httpx.AsyncClient(base_url=emu.url, headers=api_headers()) as http,
    ):
        made = await client.call_tool("new_session", {})
        _check(made, "new_session")
        sid = str((made.structured_content or {})["session_id"])
        emu.long_draft(sid, n)

        async def bare() -> float:
            started = time.perf_counter()
            answer = await http.get(api.state_path(sid))
            answer.raise_for_status()
            api.data_of(json.loads(answer.text))
            return time.perf_counter() - started

        async def ours() -> tuple[float, int, int]:
            started = time.perf_counter()
            result = await client.call_tool("get_state", {"session_id": sid})
            elapsed = time.perf_counter() - started
            _check(result, "get_state")
            text = "".join(getattr(c, "text", "") for c in result.content)
            return elapsed, len(text), budget.json_size(result.structured_content)

        for _ in range(3):  # warm-up: connections, imports, caches on every side
            await bare()
            await ours()
        base: list[float] = []
        mine: list[float] = []
        sizes_seen: set[tuple[int, int]] = set()
        for _ in range(sizes.long_reps):  # interleaved, so drift hits both alike
            base.append(await bare())
            elapsed, chars, size = await ours()
            mine.append(elapsed)
            sizes_seen.add((chars, size))
    b50, o50 = statistics.median(base), statistics.median(mine)
    # Each call against the fetch just before it: the machine's other load hits a pair alike.
    ratio = statistics.median(o / b for o, b in zip(mine, base, strict=True))
    chars = max(c for c, _ in sizes_seen)
    size = max(s for _, s in sizes_seen)
    within = chars <= budget.TEXT_CHARS and size <= budget.STRUCTURED_BYTES
    return Row(
        f"get_state, {n:,}-segment draft, MCP stdio (p50 of {sizes.long_reps})",
        f"httpx GET + JSON parse {ms(b50)}",
        f"{ms(o50)}; {chars:,} chars + {size / 1024:.1f} KB JSON",
        f"{ratio:.2f}× (p50 of pairs)",
        f"≤ {GET_STATE_TARGET}×; ≤ {budget.TEXT_CHARS:,} chars, ≤ {budget.STRUCTURED_BYTES // 1024} KB",
        verdict(ratio <= GET_STATE_TARGET and within),
    )


def summary_row(sizes: Sizes) -> Row:
    n = sizes.long_segments
    draft = long_draft(n)
    text = json.dumps(draft)

    def baseline() -> float:
        started = time.perf_counter()
        json.loads(text)
        return time.perf_counter() - started

    def ours() -> float:
        started = time.perf_counter()
        result = StateResult.of("5529798706024415232", parse_draft(draft), 0)
        result.text()
        result.model_dump(mode="json")
        return time.perf_counter() - started

    for _ in range(5):
        baseline()
        ours()
    base = []
    mine = []
    for _ in range(sizes.long_reps * 2):
        base.append(baseline())
        mine.append(ours())
    b50, o50 = statistics.median(base), statistics.median(mine)
    return Row(
        f"summary of a {n:,}-segment draft: parse, outline, structured (p50 of {len(mine)})",
        f"json.loads of the draft {ms(b50)}",
        ms(o50),
        f"{o50 / b50:.2f}×",
        f"< {SUMMARY_TARGET_S * 1000:.0f} ms",
        verdict(o50 < SUMMARY_TARGET_S),
    )
