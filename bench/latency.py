"""Latency rows against same-run floors: a tool call, SSE event → progress, cold start, concurrent calls.

The floors are the SDK itself (``bench.sdk_floor``: a bare ``MCPServer`` with a no-op tool),
called the same way: no server built on this SDK can beat them, so the targets are ratios to them.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
from mcp import Client, StdioServerParameters

from bench.common import (
    HOST,
    EmulatorProcess,
    Row,
    Sizes,
    api_headers,
    free_port,
    ms,
    percentile,
    server_env,
    stop_process,
    verdict,
)
from nemo_mcp.cloud import api

CALL_OVERHEAD_TARGET = 1.2  # × the SDK's own p50 per call
SSE_P99_TARGET_S = 0.020
COLD_START_ADDED_TARGET_S = 0.15  # over the SDK's hello-world
CONCURRENT_P95_TARGET = 1.15  # × the SDK's own p95 in the same bursts

NEMO = ["nemo_mcp"]
FLOOR = ["bench.sdk_floor", "stdio"]


def stdio_params(env: dict[str, str], module: list[str] = NEMO) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", *module], env=env)


def _check(result: Any, what: str) -> None:
    if result.is_error:
        text = " ".join(getattr(c, "text", "") for c in result.content)
        raise RuntimeError(f"{what} failed: {text}")


# --- one tool call: what we add, against what the SDK costs -----------------------------------


async def call_overhead_row(emu: EmulatorProcess, workdir: Path, sizes: Sizes) -> Row:
    """p50 of ``get_credits`` through stdio MCP, less the same GET with bare httpx (the API's part),
    against the p50 of a no-op tool on a bare MCPServer over stdio: both are the cost of a call."""
    env = {**os.environ, **server_env(emu.url, workdir)}
    async with (
        Client(stdio_params(env)) as client,
        Client(stdio_params(env, FLOOR)) as floor,
        httpx.AsyncClient(base_url=emu.url, headers=api_headers()) as http,
    ):

        async def bare() -> float:
            started = time.perf_counter()
            answer = await http.get(api.CREDITS)
            answer.raise_for_status()
            api.parse_credits(api.data_of(answer.json()))
            return time.perf_counter() - started

        async def timed_call(on: Client, tool: str) -> float:
            started = time.perf_counter()
            result = await on.call_tool(tool, {})
            elapsed = time.perf_counter() - started
            _check(result, tool)
            return elapsed

        for _ in range(10):  # warm-up: connections, imports, caches on every side
            await bare()
            await timed_call(client, "get_credits")
            await timed_call(floor, "noop")
        api_times: list[float] = []
        ours: list[float] = []
        sdk: list[float] = []
        for _ in range(sizes.credit_calls):  # interleaved, so drift hits all alike
            api_times.append(await bare())
            ours.append(await timed_call(client, "get_credits"))
            sdk.append(await timed_call(floor, "noop"))
    a50, o50, s50 = statistics.median(api_times), statistics.median(ours), statistics.median(sdk)
    overhead = o50 - a50
    ratio = overhead / s50
    return Row(
        f"tool call via MCP stdio, p50 of {sizes.credit_calls}",
        f"SDK no-op tool {ms(s50)}",
        f"get_credits {ms(o50)} less its API GET {ms(a50)} = {ms(overhead)}",
        f"{ratio:.2f}×",
        f"≤ {CALL_OVERHEAD_TARGET}× the SDK's p50",
        verdict(ratio <= CALL_OVERHEAD_TARGET),
    )


# --- SSE event emitted → progress notification received -----------------------------------------


def expected_message(chunk: str) -> str | None:
    """The progress message nemo-mcp should send for one emitted ADK event, if any."""
    payload = chunk.strip()
    if not payload.startswith("data:"):
        return None
    try:
        event = json.loads(payload[5:].strip())
    except json.JSONDecodeError:
        return None
    parts = (event.get("content") or {}).get("parts") or []
    for part in parts:
        if "functionCall" in part:
            return f"Running {part['functionCall']['name']}"
        if "functionResponse" in part:
            return f"Finished {part['functionResponse']['name']}"
        if "text" in part and event.get("partial") is True:
            return str(part["text"])
    return None  # the final non-partial text repeats the chunks and is de-duplicated


def match_turn(emitted: list[tuple[float, str]], received: list[tuple[float, str]]) -> tuple[list[float], int, bool]:
    """Latencies of the emitted events found in ``received`` (in order), how many were missing,
    and whether the turn looked buffered (first progress only after the last event was sent)."""
    latencies: list[float] = []
    missing = 0
    first_recv: float | None = None
    cursor = 0
    for sent_at, chunk in emitted:
        want = expected_message(chunk)
        if want is None:
            continue
        for i in range(cursor, len(received)):
            if received[i][1] == want:
                latencies.append(received[i][0] - sent_at)
                first_recv = received[i][0] if first_recv is None else first_recv
                cursor = i + 1
                break
        else:
            missing += 1
    last_emit = emitted[-1][0] if emitted else 0.0
    buffered = len(emitted) > 1 and (first_recv is None or first_recv >= last_emit)
    return latencies, missing, buffered


async def sse_row(emu: EmulatorProcess, workdir: Path, sizes: Sizes) -> Row:
    env = server_env(emu.url, workdir)
    emu.faults(stream_event_delay=sizes.sse_event_delay, sse_form="adk")
    latencies: list[float] = []
    missing = buffered = 0
    try:
        async with Client(stdio_params(env)) as client:
            # Warm-up turn: the session is created and every code path imported.
            _check(await client.call_tool("send_instruction", {"instruction": "title 'warm up'"}), "warm-up")
            emu.sse_log()
            for n in range(sizes.sse_turns):
                received: list[tuple[float, str]] = []

                async def on_progress(
                    progress: float, total: float | None, message: str | None, box: Any = received
                ) -> None:
                    box.append((time.time(), message or ""))

                result = await client.call_tool(
                    "send_instruction",
                    {"instruction": f"set the title to 'Bench turn {n}'"},
                    progress_callback=on_progress,
                )
                _check(result, "send_instruction")
                turn_latencies, turn_missing, turn_buffered = match_turn(emu.sse_log(), received)
                latencies += turn_latencies
                missing += turn_missing
                buffered += turn_buffered
    finally:
        emu.faults(stream_event_delay=0.0)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    ok = p99 <= SSE_P99_TARGET_S and missing == 0 and buffered == 0 and bool(latencies)
    return Row(
        f"SSE event → progress notification ({len(latencies)} events, {sizes.sse_turns} turns)",
        "emulator emit time",
        f"p50 {ms(p50)}, p99 {ms(p99)}, max {ms(max(latencies, default=0))}",
        f"+{ms(p99)} p99; buffered turns {buffered}, lost {missing}",
        "p99 ≤ 20 ms; streamed",
        verdict(ok),
    )


# --- cold start ----------------------------------------------------------------------------------

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "bench", "version": "0"},
    },
}


def _one_cold_start(env: dict[str, str], module: list[str]) -> float:
    """Spawn ``python -m <module>`` and time until its answer to ``initialize`` is read."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", *module],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(INITIALIZE).encode() + b"\n")
        proc.stdin.flush()
        while True:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("the server exited before answering initialize")
            message = json.loads(line)
            if message.get("id") == 1:
                elapsed = time.perf_counter() - started
                if "result" not in message:
                    raise RuntimeError(f"initialize failed: {message}")
                return elapsed
    finally:
        if proc.stdin:
            proc.stdin.close()
        stop_process(proc)


def cold_start_row(emu: EmulatorProcess, workdir: Path, sizes: Sizes) -> Row:
    env = {**os.environ, **server_env(emu.url, workdir)}
    for module in (FLOOR, NEMO):  # warm the page cache and .pyc files, as a second launch would be
        _one_cold_start(env, module)
    base: list[float] = []
    mine: list[float] = []
    for _ in range(sizes.cold_starts):
        base.append(_one_cold_start(env, FLOOR))
        mine.append(_one_cold_start(env, NEMO))
    b50, o50 = statistics.median(base), statistics.median(mine)
    added = o50 - b50
    return Row(
        f"cold start → initialize answered (stdio, median of {sizes.cold_starts})",
        f"SDK hello-world {ms(b50)}",
        f"{ms(o50)} (min {ms(min(mine))})",
        f"+{added:.3f} s",
        f"≤ +{COLD_START_ADDED_TARGET_S} s",
        verdict(added <= COLD_START_ADDED_TARGET_S),
    )


# --- concurrent calls over streamable HTTP -------------------------------------------------------


def _wait_for_port(port: int, proc: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the streamable-http server exited at start")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the streamable-http server did not start listening")


async def _bursts(
    args: list[str], tool: str, env: dict[str, str], workdir: Path, sizes: Sizes
) -> tuple[list[float], list[float], int]:
    """Single-call latencies, then latencies within concurrent bursts, and the errors, for one server."""
    port = free_port()
    log = open(workdir / f"http-{tool}.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", *args, str(port)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    errors = 0
    burst_latencies: list[float] = []
    try:
        await anyio.to_thread.run_sync(_wait_for_port, port, proc)
        async with Client(f"http://{HOST}:{port}/mcp") as client:

            async def call() -> float:
                started = time.perf_counter()
                result = await client.call_tool(tool, {})
                elapsed = time.perf_counter() - started
                _check(result, tool)
                return elapsed

            for _ in range(5):
                await call()
            single = [await call() for _ in range(20)]
            for _ in range(sizes.concurrent_bursts):
                results: list[float | BaseException] = [0.0] * sizes.concurrent

                async def one(i: int, out: list[float | BaseException] = results) -> None:
                    try:
                        out[i] = await call()
                    except Exception as exc:
                        out[i] = exc

                async with anyio.create_task_group() as tg:
                    for i in range(sizes.concurrent):
                        tg.start_soon(one, i)
                for item in results:
                    if isinstance(item, BaseException):
                        errors += 1
                    else:
                        burst_latencies.append(item)
    finally:
        stop_process(proc)
        log.close()
    return single, burst_latencies, errors


async def concurrency_row(emu: EmulatorProcess, workdir: Path, sizes: Sizes) -> Row:
    env = {**os.environ, **server_env(emu.url, workdir)}
    nemo = ["nemo_mcp", "--transport", "streamable-http", "--host", HOST, "--port"]
    _, burst_latencies, errors = await _bursts(nemo, "get_credits", env, workdir, sizes)
    # The same bursts against the SDK alone making the same API call: the floor no server on it can beat.
    _, floor_bursts, floor_errors = await _bursts(["bench.sdk_floor"], "credits", env, workdir, sizes)
    p95, floor_p95 = percentile(burst_latencies, 95), percentile(floor_bursts, 95)
    ratio = p95 / floor_p95
    return Row(
        f"{sizes.concurrent} concurrent get_credits, streamable HTTP (×{sizes.concurrent_bursts} bursts)",
        f"SDK + the same API GET, p95 {ms(floor_p95)}",
        f"p50 {ms(percentile(burst_latencies, 50))}, p95 {ms(p95)}, errors {errors}",
        f"{ratio:.2f}×",
        f"no error; p95 ≤ {CONCURRENT_P95_TARGET}× the SDK's",
        verdict(errors == 0 and floor_errors == 0 and ratio <= CONCURRENT_P95_TARGET),
    )
