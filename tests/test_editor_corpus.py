"""The offline editor against realistic instructions: understood, honest, and the same through MCP.

``tests/data/editor-corpus.json`` holds instructions people type (English and Chinese, the failures
of issue #12, requests only the cloud can do) with their expected effect on a realistic project
(``tests/editor_project.py``). Every case runs directly through the editor (no video is rendered);
the cases marked ``mcp`` also run through the MCP tools against the local backend. The suite
reports the share understood and fails on any false success: a reply that claims a change the
timeline does not show.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
import string
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import offline_env
from tests.editor_project import Session, claims_change, editor_for, upload_records

from nemo_mcp.local.editor import LocalEditor
from nemo_mcp.local.editor.phrases import TABLE
from nemo_mcp.local.fonts import find_font as installed_font

CORPUS = json.loads((Path(__file__).parent / "data" / "editor-corpus.json").read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = CORPUS["cases"]
SETUPS: dict[str, list[str]] = CORPUS["setups"]
MIN_UNDERSTOOD = 0.9


@pytest.fixture(scope="module")
def media(project_media: dict[str, Path]) -> dict[str, Path]:
    return project_media


@pytest.fixture(scope="module")
def editor(media: dict[str, Path]) -> LocalEditor:
    return editor_for(media)


@pytest.fixture(scope="module")
def setups(editor: LocalEditor, media: dict[str, Path]) -> dict[str, Session]:
    """Each setup run once, as a session to copy."""
    made = {}
    for name, steps in SETUPS.items():
        session = Session(editor, [] if name == "bare" else upload_records(media))
        for step in steps:
            assert claims_change(session.say(step).reply), step
        made[name] = session
    return made


# --- judging one case ---------------------------------------------------------------------------


def _tracks(draft: dict[str, Any]) -> tuple[list[Any], list[Any], list[Any]]:
    def track(tt: int) -> list[Any]:
        return next((t["sg"] for t in draft.get("t", []) if t.get("tt") == tt), [])

    return track(0), track(1), sorted(track(7), key=lambda s: s["st"])


def _names(video: list[dict[str, Any]]) -> list[str]:
    return [s.get("n") for s in video]


def _photos(video: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in video if s.get("k") == "image" and not str(s.get("n")).endswith(".gif")]


def _max_overlap(video: list[dict[str, Any]]) -> int:
    return max((a["st"] + a["d"] - b["st"] for a, b in itertools.pairwise(video)), default=0)


def expectation(expr: str, before: dict[str, Any], after: dict[str, Any], reply: str) -> bool:
    v, a, x = _tracks(after)
    bv, ba, bx = _tracks(before)
    scope = {
        "v": v, "a": a, "x": x, "m": after.get("m", {}), "d": after.get("d"),
        "bv": bv, "ba": ba, "bx": bx, "bm": before.get("m", {}), "bd": before.get("d"), "reply": reply,
        "names": _names, "photos": _photos, "max_overlap": _max_overlap,
        "without": lambda *gone: [n for n in _names(bv) if n not in gone],
        "lengths": lambda segs: [s["d"] for s in segs],
        "clip": lambda segs: next(s for s in segs if s.get("k") == "video"),
        "item": lambda segs, name: next(s for s in segs if s.get("n") == name),
        "text": lambda texts, words: next(s for s in texts if s.get("tx") == words),
    }  # fmt: skip
    try:
        return bool(
            eval(
                expr,
                {"__builtins__": {"len": len, "all": all, "any": any, "sorted": sorted, "max": max, "str": str}},
                scope,
            )
        )
    except (KeyError, StopIteration, IndexError, TypeError):
        return False


def _collateral(expr: str, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Items, texts or music that went missing although the expectation does not look at them."""
    (v, a, x), (bv, ba, bx) = _tracks(after), _tracks(before)
    lost: list[str] = []
    if not re.search(r"names\(v\)|len\(v\)|without|\bv\[", expr):
        lost += [n for n in _names(bv) if _names(bv).count(n) > _names(v).count(n)]
    if not re.search(r"\bx\b", expr):
        lost += [t["tx"] for t in bx if t["tx"] not in [u["tx"] for u in x]]
    if ba and not a and not re.search(r"\ba\b", expr):
        lost.append("the music")
    return lost


@dataclass
class Verdict:
    understood: bool
    false_success: bool
    why: str


def judge(case: dict[str, Any], before: dict[str, Any], after: dict[str, Any], reply: str, tool: str) -> Verdict:
    changed = after != before
    claims = claims_change(reply)
    if claims and not changed:
        return Verdict(False, True, "claims a change, but the timeline is unchanged")
    if changed and not claims:
        return Verdict(False, False, "changed the timeline without saying so")
    if changed != bool(tool):
        return Verdict(False, False, f"tool {tool!r} does not match changed={changed}")
    if "expect" in case:
        met = changed and expectation(case["expect"], before, after, reply)
        if not met:
            return Verdict(False, claims, f"expected {case['expect']}")
        if lost := _collateral(case["expect"], before, after):
            return Verdict(False, claims, f"also removed {lost}, which the case does not ask for")
        return Verdict(True, False, "")
    kind = next(k for k in ("same", "refuse", "answer") if k in case)
    if changed:
        return Verdict(False, claims, f"{kind}: must not change the timeline")
    wanted = case[kind]
    if isinstance(wanted, str) and wanted.lower() not in reply.lower():
        return Verdict(False, False, f"{kind}: the reply should say {wanted!r}")
    if "click" in reply.lower() or "点击" in reply:
        return Verdict(False, False, "tells a chat user to click")
    return Verdict(True, False, "")


def run_case(setups: dict[str, Session], case: dict[str, Any]) -> tuple[Verdict, Any]:
    session = setups[case["setup"]].fork(case["lang"])
    before = copy.deepcopy(session.draft)
    result = session.say(case["say"])
    if result.draft == before and result.tool_args != {}:
        return Verdict(False, False, f"unchanged, yet tool args {result.tool_args}"), result
    return judge(case, before, result.draft, result.reply, result.tool_name), result


# --- the tests ----------------------------------------------------------------------------------


def test_corpus_is_large_and_in_both_languages() -> None:
    assert len(CASES) >= 80
    langs = defaultdict(int)
    for case in CASES:
        langs[case["lang"][:2]] += 1
    assert langs["en"] >= 60 and langs["zh"] >= 40, langs
    assert sum(1 for c in CASES if "refuse" in c) >= 15
    assert sum(1 for c in CASES if c.get("mcp")) >= 20


def test_corpus_understood_with_no_false_success(setups: dict[str, Session], record_property: Any) -> None:
    failures, false_successes = [], []
    for case in CASES:
        verdict, result = run_case(setups, case)
        if not verdict.understood:
            failures.append(
                f"{case['say']!r} ({case['setup']}, {case['lang']}): {verdict.why}\n    reply: {result.reply}"
            )
        if verdict.false_success:
            false_successes.append(failures[-1])
    understood = len(CASES) - len(failures)
    share = understood / len(CASES)
    record_property(
        "score",
        f"offline editor corpus: {understood}/{len(CASES)} understood ({share:.1%}), "
        f"{len(false_successes)} false successes",
    )
    assert not false_successes, "\n".join(false_successes)
    assert share >= MIN_UNDERSTOOD, f"{share:.1%} understood; not understood:\n" + "\n".join(failures)


# Phrases people type, and words nobody could act on, mixed in one instruction.
KNOWN = sorted({c["say"] for c in CASES if c["say"]} | {e for p in TABLE for e in (*p.en, *p.zh)})
UNKNOWN = [
    "make it pop",
    "sparkle",
    "more vibes please",
    "blorp the flimflam",
    "天空变紫",
    "like a music video",
    "?",
    "and",
]
PART = (
    st.sampled_from(KNOWN) | st.sampled_from(UNKNOWN) | st.text(string.ascii_letters + " '\"0123456789%", max_size=25)
)
INSTRUCTIONS = st.tuples(st.lists(PART, min_size=1, max_size=4), st.sampled_from([" and ", ", ", "，", ". ", " then "]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(INSTRUCTIONS, st.sampled_from(["empty", "full", "captioned", "bare"]), st.sampled_from(["en", "zh-CN", "ja"]))
def test_a_claimed_change_is_always_on_the_timeline(
    setups: dict[str, Session], parts: tuple[list[str], str], setup: str, lang: str
) -> None:
    words, sep = parts
    session = setups[setup].fork(lang)
    before = copy.deepcopy(session.draft)
    result = session.say(sep.join(words))
    changed = result.draft != before
    assert claims_change(result.reply) == changed, (result.reply, changed)
    assert bool(result.tool_name) == changed
    if not changed:
        assert (result.tool_name, result.tool_args) == ("", {}) and result.draft == before
    assert result.reply.strip()


# --- through the MCP tools ----------------------------------------------------------------------


def _text_of(result: Any) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


@pytest.mark.anyio
async def test_corpus_through_the_mcp_tools(media: dict[str, Path], tmp_path: Path) -> None:
    """The marked cases, as an assistant sends them: same effects, honest results, no empty tool names."""
    from mcp import Client

    from nemo_mcp.config import load_settings
    from nemo_mcp.server import build_server

    find_font = installed_font
    server = build_server(load_settings({**os.environ, **offline_env(tmp_path, NEMO_LOG_LEVEL="WARNING")}))
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for case in CASES:
        if case.get("mcp"):
            groups[(case["setup"], case["lang"])].append(case)
    failures: list[str] = []
    async with Client(server, mode="legacy") as client:

        async def call(tool: str, args: dict[str, Any]) -> Any:
            result = await client.call_tool(tool, args)
            assert not result.is_error, _text_of(result)
            return result

        async def draft(sid: str) -> dict[str, Any]:
            read = await client.read_resource(f"nemo://sessions/{sid}/draft")
            loaded: dict[str, Any] = json.loads(read.contents[0].text)
            return loaded

        for (setup, lang), cases in groups.items():
            sid = (await call("new_session", {"language": lang})).structured_content["session_id"]
            if setup != "bare":
                await call("upload_media", {"paths": [str(p) for p in media.values()]})
            for step in SETUPS[setup]:
                await call("send_instruction", {"instruction": step})
            for case in cases:
                before = await draft(sid)
                called = await call("send_instruction", {"instruction": case["say"]})
                said = called.structured_content
                after = await draft(sid)
                tools = said["tools_used"]
                verdict = judge(case, before, after, said["reply"], tools[0] if tools else "")
                problems = [verdict.why] if not verdict.understood else []
                if "" in tools or said["timeline_changed"] != (after != before) or (after == before and tools):
                    problems.append(f"tools_used {tools}, timeline_changed {said['timeline_changed']}")
                # Text no font can draw is reported in the tool's result, not only in the server's log.
                new_texts = {t["tx"] for t in _tracks(after)[2]} - {t["tx"] for t in _tracks(before)[2]}
                if any(find_font(t) is None for t in new_texts) and "nemo-mcp[cjk]" not in _text_of(called):
                    problems.append("no word about the missing font")
                if problems:
                    failures.append(f"{case['say']!r} ({setup}, {lang}): {problems}\n    reply: {said['reply']}")
                if after != before:  # back to the setup for the next case
                    undo = "undo" if said["tools_used"] != ["undo"] else SETUPS[setup][-1]
                    await call("send_instruction", {"instruction": undo})
                    assert await draft(sid) == before, case["say"]
    assert not failures, "\n".join(failures)
