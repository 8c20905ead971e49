"""Issue #14: every tool result fits a model's context, whatever the size of the project.

Through a real MCP client against the emulator over HTTP: drafts of 0, 1, 40 and 4,000 segments
(names and captions in Latin, CJK, emoji and right-to-left scripts) read with get_state, edited
with send_instruction and collected with check_job, and the timeline resource read page by page.
Every result stays within ``budget.TEXT_CHARS`` and ``budget.STRUCTURED_BYTES``, is valid JSON,
has the closing "… and N more" line exactly when something was left out, and always lists the
segments the last instruction changed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import mcp_types as types
import pytest
from bench.drafts import long_draft
from hypothesis import given, settings
from hypothesis import strategies as st
from mcp import Client
from tests.conftest import fast_env, png_bytes
from tests.test_properties import SETTINGS, drafts, segments

from nemo_mcp import budget
from nemo_mcp.apiserver import EditRequest, EditResult
from nemo_mcp.cloud import api
from nemo_mcp.config import load_settings
from nemo_mcp.draft import keys, outline, page, parse_draft
from nemo_mcp.draft.rawjson import member_text
from nemo_mcp.results import StateResult
from nemo_mcp.server import build_server
from nemo_mcp.server.calls import bounded, ok
from nemo_mcp.testing import Emulator, EmulatorServer, ScriptedEditor

SIZES = [0, 1, 40, 4000]
MIDDLE = 1000  # the caption an instruction changes: in the middle, far from both ends
CHANGED_TEXT = "Средина ✨ 中间 الوسط"
CHANGE = "change the middle caption"


class EditorForTests:
    """The scripted editor, plus instructions of our own: change one caption in the middle,
    rebuild every segment under new ids, answer at length, fail with a huge message."""

    def __init__(self) -> None:
        self.scripted = ScriptedEditor()

    def edit(self, request: EditRequest) -> EditResult:
        draft, instruction = request.draft, request.instruction
        if instruction.startswith(CHANGE):
            draft["t"][-1]["sg"][MIDDLE]["tx"] = CHANGED_TEXT
            return EditResult(draft=draft, reply="I changed one caption.")
        if instruction.startswith("rebuild"):
            fresh = long_draft(4000)
            for track in fresh["t"]:
                for segment in track["sg"]:
                    segment["id"] = "new-" + segment["id"]
                    if "tx" in segment:
                        segment["tx"] += "!"
            return EditResult(draft=fresh, reply="")
        if instruction.startswith("fail loudly"):
            raise RuntimeError("x" * 50_000 + "\n" + "y" * 50_000)
        if instruction.startswith("say a lot"):
            return EditResult(draft=draft, reply="\n".join(f"Line {i}: {'文字 ' * 30}" for i in range(400)))
        return self.scripted.edit(request)


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    emulator = Emulator(tmp_path / "emulator", editor=EditorForTests())
    with EmulatorServer(emulator):
        yield emulator


@pytest.fixture
def make_server(emu: Emulator, tmp_path: Path) -> Any:
    def make(**extra: str) -> Any:
        return build_server(load_settings(fast_env(emu.url, tmp_path, **extra)))  # type: ignore[attr-defined]

    return make


def put_draft(emulator: Emulator, session_id: str, draft: dict[str, Any]) -> None:
    """Give a project a draft, through the emulator's session state."""
    emulator.set_draft(session_id, draft)


async def new_project(client: Client, emulator: Emulator, segments: int) -> str:
    made = await client.call_tool("new_session", {})
    sid = str(made.structured_content["session_id"])  # type: ignore[index]
    put_draft(emulator, sid, long_draft(segments))
    return sid


def text_of(result: Any) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


MORE = re.compile(r"^… and [\d,]+ more (segment|track|character)")


def more_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if MORE.match(line)]


def assert_within_budget(result: Any) -> None:
    """Text and structured content within the budgets, however they are measured, and valid JSON."""
    text = text_of(result)
    assert len(text) <= budget.TEXT_CHARS, len(text)
    text.encode("utf-8")  # no lone surrogate: it could not be sent
    content = result.structured_content
    if content is None:
        return
    for serialised in (json.dumps(content), json.dumps(content, ensure_ascii=False, separators=(",", ":"))):
        assert len(serialised.encode("utf-8")) <= budget.STRUCTURED_BYTES, len(serialised)
        assert json.loads(serialised) == content


def assert_says_what_it_left_out(result: Any, content: dict[str, Any]) -> None:
    """The closing line is there exactly when something was left out, and it is the last line."""
    lines = more_lines(text_of(result))
    if content["truncated"]:
        assert len(lines) == 1 and text_of(result).rstrip().endswith(lines[0]), text_of(result)[-500:]
    else:
        assert lines == []


def numbers_in(text: str) -> list[int]:
    return [int(m) for m in re.findall(r"^(\d+)\. ", text, re.M)]


# -- get_state --------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
@pytest.mark.parametrize("segments", SIZES)
async def test_get_state_fits_the_budget_for_every_size(
    make_server: Any, emu: Emulator, segments: int, era: str
) -> None:
    async with Client(make_server(), mode=era) as client:
        sid = await new_project(client, emu, segments)
        result = await client.call_tool("get_state", {"session_id": sid})
    assert not result.is_error, text_of(result)
    assert_within_budget(result)
    content = result.structured_content
    assert content is not None
    assert_says_what_it_left_out(result, content)
    text = text_of(result)
    assert content["segment_count"] == segments
    assert sum(t["segment_count"] for t in content["tracks"]) == segments
    shown = [s for t in content["tracks"] for s in t["segments"]]
    assert content["segments_shown"] == len(shown)
    assert [s["number"] for s in shown] == numbers_in(text)  # the text and the structure show the same
    assert content["timeline_uri"] == f"nemo://sessions/{sid}/timeline"
    if segments <= 40:
        assert not content["truncated"] and len(shown) == segments
        assert numbers_in(text) == list(range(1, segments + 1))
        return
    assert content["truncated"] and len(shown) < segments
    assert f"`nemo://sessions/{sid}/timeline`" in more_lines(text)[0]
    assert more_lines(text)[0].startswith(f"… and {segments - len(shown):,} more segments")
    # The header, every track with its count and span, and the first and last segment of each.
    assert text.startswith("Timeline: 600s, 1920x1080, 3 tracks, 4,000 segments")
    assert "Video track: 2,000 segments, 0-600s" in text
    assert "BGM track: 1 segment, 0-600s" in text
    assert "Text track: 1,999 segments, 0-599.7s" in text
    assert {1, 2000, 2001, 2002, 4000} <= set(numbers_in(text))
    assert '4000. Title: "' in text


@pytest.mark.anyio
async def test_long_names_and_captions_are_cut_on_a_character(make_server: Any, emu: Emulator) -> None:
    draft = long_draft(3)
    family = "👩‍👩‍👧"
    draft["t"][0]["sg"][0]["n"] = family * 200  # one long name of joined emoji
    draft["t"][-1]["sg"][0]["tx"] = "مرحبا " * 300  # right to left
    async with Client(make_server(), mode="legacy") as client:
        sid = await new_project(client, emu, 0)
        put_draft(emu, sid, draft)
        result = await client.call_tool("get_state", {"session_id": sid})
    assert_within_budget(result)
    text = text_of(result)
    name = text.splitlines()[1].removeprefix("1. Video: ").rsplit(" (", 1)[0]
    assert name.endswith("…") and len(name) <= budget.LABEL_CHARS
    assert name[:-1] == family * ((len(name) - 1) // len(family))  # whole families only
    caption = result.structured_content["tracks"][-1]["segments"][0]["text"]  # type: ignore[index]
    assert len(caption) <= budget.FIELD_CHARS and caption.endswith("…")


# -- the timeline resource ----------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("segments", SIZES)
async def test_the_timeline_resource_pages_hold_every_segment(make_server: Any, emu: Emulator, segments: int) -> None:
    async with Client(make_server(), mode="legacy") as client:
        sid = await new_project(client, emu, segments)
        uri = f"nemo://sessions/{sid}/timeline"
        seen: list[int] = []
        pages = 0
        while uri:
            page = (await client.read_resource(uri)).contents[0].text  # type: ignore[union-attr]
            pages += 1
            assert len(page) <= budget.TEXT_CHARS
            seen += numbers_in(page)
            following = re.findall(r"^Next page: (\S+)$", page, re.M)
            uri = following[0] if following else ""
            assert pages < 100
        assert seen == list(range(1, segments + 1))  # every segment once, in order
        if segments == 4000:
            assert pages > 1
            last = f"nemo://sessions/{sid}/timeline?page={pages}"
            assert f"(page {pages} of {pages})" in (await client.read_resource(last)).contents[0].text  # type: ignore[union-attr]
        else:
            assert pages == 1
        for missing in (f"?page={pages + 1}", "?page=0", "?page=two"):
            with pytest.raises(Exception, match="page"):
                await client.read_resource(f"nemo://sessions/{sid}/timeline{missing}")


@pytest.mark.anyio
async def test_the_draft_resource_is_the_draft_byte_for_byte(make_server: Any, emu: Emulator) -> None:
    async with Client(make_server(), mode="legacy") as client:
        sid = await new_project(client, emu, 4000)
        read = (await client.read_resource(f"nemo://sessions/{sid}/draft")).contents[0].text  # type: ignore[union-attr]
        token = next(iter(emu.tokens))
    answer = httpx.get(f"{emu.url}{api.state_path(sid)}", headers={"Authorization": f"Bearer {token}"})  # type: ignore[attr-defined]
    assert read == member_text(answer.text, ("data", "state", "draft"))
    assert len(read) > 300_000  # the whole draft: no budget applies to it


# -- send_instruction and check_job -----------------------------------------------------------------


@pytest.mark.anyio
async def test_an_edit_in_the_middle_of_a_long_draft_is_listed(make_server: Any, emu: Emulator) -> None:
    async with Client(make_server(), mode="legacy") as client:
        sid = await new_project(client, emu, 4000)
        said = await client.call_tool(
            "send_instruction", {"instruction": "change the middle caption", "session_id": sid}
        )
        state = await client.call_tool("get_state", {"session_id": sid})
    number = 2001 + MIDDLE + 1  # 2,000 clips, the music bed, then the captions
    for result in (said, state):
        assert not result.is_error, text_of(result)
        assert_within_budget(result)
        content = result.structured_content
        assert content is not None
        assert_says_what_it_left_out(result, content)
        assert content["truncated"]
        assert f'{number}. Title: "{CHANGED_TEXT}" ' in text_of(result)
    out = said.structured_content
    assert out is not None
    was = long_draft(4000)["t"][-1]["sg"][MIDDLE]["tx"]
    assert out["changes"] == [f"Title '{was}' → '{CHANGED_TEXT}'"]  # one change: its own sentence
    assert "(changed)" in out["timeline"]
    assert out["segment_count"] == 4000 and out["segments_shown"] < 4000
    shown = [s for t in state.structured_content["tracks"] for s in t["segments"]]  # type: ignore[index]
    assert any(s["number"] == number and s["text"] == CHANGED_TEXT for s in shown)


@pytest.mark.anyio
async def test_check_job_carries_the_result_within_the_budget(make_server: Any, emu: Emulator) -> None:
    async with Client(make_server(NEMO_TOOL_WAIT_SECONDS="0.05"), mode="legacy") as client:
        sid = await new_project(client, emu, 4000)
        emu.faults.stream_event_delay = 0.1
        first = await client.call_tool(
            "send_instruction", {"instruction": "change the middle caption", "session_id": sid}
        )
        assert first.structured_content["status"] == "running"  # type: ignore[index]
        assert_within_budget(first)
        job_id = first.structured_content["job_id"]  # type: ignore[index]
        with anyio.fail_after(30):
            while True:
                checked = await client.call_tool("check_job", {"job_id": job_id})
                assert_within_budget(checked)
                if checked.structured_content["status"] == "done":  # type: ignore[index]
                    break
    inner = checked.structured_content["result"]  # type: ignore[index]
    assert inner["truncated"] and CHANGED_TEXT in inner["timeline"]
    assert_says_what_it_left_out(checked, inner)


@pytest.mark.anyio
async def test_rebuilding_everything_is_told_in_counted_sentences(make_server: Any, emu: Emulator) -> None:
    async with Client(make_server(), mode="legacy") as client:
        sid = await new_project(client, emu, 4000)
        said = await client.call_tool("send_instruction", {"instruction": "rebuild it", "session_id": sid})
        loaded = await client.call_tool("send_instruction", {"instruction": "rebuild it again", "session_id": sid})
    assert_within_budget(said)
    out = said.structured_content
    assert out is not None
    assert out["changes"] == ["Replaced 2,000 clips", "Replaced 1 audio clip", "Replaced 1,999 captions"]
    assert out["reply"].startswith("The timeline was updated: Replaced 2,000 clips")  # no reply: the changes
    assert text_of(said).count("Replaced") == 3
    assert loaded.structured_content["changes"] == []  # type: ignore[index]


@pytest.mark.anyio
async def test_a_long_reply_is_cut_at_a_line(make_server: Any, emu: Emulator) -> None:
    async with Client(make_server(), mode="legacy") as client:
        sid = await new_project(client, emu, 40)
        said = await client.call_tool("send_instruction", {"instruction": "say a lot", "session_id": sid})
    assert_within_budget(said)
    out = said.structured_content
    assert out is not None and out["truncated"]
    reply = out["reply"]
    assert len(reply) <= budget.REPLY_CHARS
    assert reply.splitlines()[-1].startswith("… and ") and reply.splitlines()[-2].startswith("Line ")
    assert out["timeline"].count("\n") == 40  # the whole timeline still fits beside it


# -- everything else ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_twenty_uploads_with_long_names_fit(make_server: Any, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    paths = []
    for i, stem in enumerate(["写真", "فيديو", "🎞️", "Ünïcødé clip"] * 5):
        path = folder / f"{i:02d} {stem * 25}"[:80].rstrip()
        path = path.with_name(path.name + ".png")
        path.write_bytes(png_bytes())
        paths.append(str(path))
    async with Client(make_server(), mode="legacy") as client:
        result = await client.call_tool("upload_media", {"paths": paths})
    assert not result.is_error, text_of(result)
    assert_within_budget(result)
    assert len(result.structured_content["uploaded"]) == 20  # type: ignore[index]


@pytest.mark.anyio
async def test_errors_are_bounded_too(make_server: Any) -> None:
    async with Client(make_server(), mode="legacy") as client:
        unknown = await client.call_tool("no_such_tool_" + "z" * 20_000, {})
        failed = await client.call_tool("send_instruction", {"instruction": "fail loudly"})
    for result in (unknown, failed):
        assert result.is_error
        assert_within_budget(result)
        assert more_lines(text_of(result)), text_of(result)[-200:]


# -- cutting, property-based --------------------------------------------------------------------------

# Text rich in what must not be split: combining marks, joiners, variation selectors, skin tones,
# flags (pairs of regional indicators), Hangul jamo, surrogate halves; and whole words of scripts.
TRICKY = (
    "a",
    "é",
    "e\u0301",
    "\u0301",
    "\u200d",
    "\ufe0f",
    "👩",
    "👩‍👩‍👧",
    "👍🏽",
    "🏽",
    "🇯🇵",
    "🇯",
    "\u1100\u1161\u11a8",
    "字",
    "مرحبا",
    "שלום",
    "नमस्ते",
    " ",
    "\n",
    "\ud83d",
)
FEWER = settings(max_examples=60, deadline=None)  # each example builds large results
tricky_text = st.lists(st.sampled_from(TRICKY), max_size=120).map("".join) | st.text(max_size=200)


def _splits_a_character(text: str, at: int) -> bool:
    """Whether cutting ``text`` before index ``at`` separates pieces of one visible character."""
    if not 0 < at < len(text):
        return False
    after, before = text[at], text[at - 1]
    regional = [0x1F1E6 <= ord(c) <= 0x1F1FF for c in reversed(text[:at])]
    run = regional.index(False) if False in regional else len(regional)  # flag halves just before
    return budget._joins_previous(after) or before == "\u200d" or (0x1F1E6 <= ord(after) <= 0x1F1FF and run % 2 == 1)


@SETTINGS
@given(tricky_text, st.integers(min_value=0, max_value=150))
def test_cut_never_splits_a_character_and_never_overflows(text: str, limit: int) -> None:
    shown = budget.cut(text, limit)
    assert len(shown) <= limit
    if len(text) <= limit:
        assert shown == text
        return
    if limit == 0:
        assert shown == ""
        return
    assert shown.endswith("…") and text.startswith(shown[:-1])
    assert not _splits_a_character(text, len(shown) - 1)


@SETTINGS
@given(tricky_text, st.integers(min_value=0, max_value=150))
def test_labels_are_one_sendable_line(text: str, limit: int) -> None:
    shown = budget.label(text, limit)
    assert len(shown) <= limit and "\n" not in shown
    shown.encode("utf-8")


@SETTINGS
@given(st.lists(tricky_text, max_size=40).map("\n".join), st.integers(min_value=0, max_value=2000))
def test_fit_text_keeps_whole_lines_within_the_limit(text: str, limit: int) -> None:
    shown, cut = budget.fit_text(text, limit)
    assert len(shown) <= limit
    shown.encode("utf-8")
    clean = budget.clean(text)
    assert cut == (len(clean) > limit)
    if not cut:
        assert shown == clean
        return
    *kept, note = shown.split("\n")
    assert MORE.match(note) or (not kept and len(note) <= limit)
    original = clean.split("\n")
    if kept and kept != [budget.cut(original[0], len(kept[0]))]:
        assert kept == original[: len(kept)]  # whole lines, from the start


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | tricky_text,
    lambda inner: st.lists(inner, max_size=30) | st.dictionaries(st.text(max_size=10), inner, max_size=8),
    max_leaves=200,
)


@FEWER
@given(st.dictionaries(st.text(max_size=10), json_values, max_size=6), st.integers(min_value=200, max_value=5000))
def test_fit_json_fits_and_keeps_every_key(value: dict[str, Any], limit: int) -> None:
    shown, cut = budget.fit_json(value, limit)
    assert set(shown) == set(value)

    def bare(v: Any) -> Any:  # what is left with every string short and every list empty
        if isinstance(v, dict):
            return {k: bare(x) for k, x in v.items()}
        return budget.cut(v, 64) if isinstance(v, str) else [] if isinstance(v, list) else v

    if budget.json_size(bare(value)) <= limit:  # object keys stay: they are the schema
        assert budget.json_size(shown) <= limit
    assert cut == (budget.json_size(value) > limit)


@FEWER
@given(tricky_text, json_values, st.integers(min_value=1, max_value=40_000))
def test_any_tool_result_is_shaped_within_the_budget(text: str, value: Any, repeat: int) -> None:
    result = types.CallToolResult(
        content=[types.TextContent(type="text", text=(text + "\n") * repeat)],
        structured_content={"truncated": False, "items": [value] * min(repeat, 2000), "note": text * min(repeat, 500)},
    )
    shaped = bounded(result)
    assert_within_budget(shaped)
    assert shaped.structured_content is not None
    left_out = (
        bool(more_lines(text_of(shaped))) or budget.json_size(result.structured_content) > budget.STRUCTURED_BYTES
    )
    assert shaped.structured_content["truncated"] == left_out


@FEWER
@given(drafts, st.integers(min_value=300, max_value=9000))
def test_outlines_and_pages_of_any_draft_fit(draft: Any, limit: int) -> None:
    timeline = parse_draft(draft)
    shown = outline(timeline, "`nemo://sessions/1/timeline`", limit)
    assert len(shown.text) <= limit
    assert bool(more_lines(shown.text)) == shown.truncated
    numbers: list[int] = []
    count = page(timeline, "# Project 1", "nemo://sessions/1/timeline", 1).count
    for n in range(1, count + 1):
        text = page(timeline, "# Project 1", "nemo://sessions/1/timeline", n).text
        assert len(text) <= budget.TEXT_CHARS
        numbers += numbers_in(text)
    assert numbers == list(range(1, timeline.segment_count + 1))


@SETTINGS
@given(segments)
def test_reading_fields_in_one_pass_is_reading_them_one_by_one(segment: Any) -> None:
    """The parser's one pass over a segment's keys (``keys.Fields``) reads what the field-by-field
    readers read, aliases, ``m`` and refused values included."""
    if not isinstance(segment, dict):
        return
    fields = keys.Fields(
        (keys.START, keys.ms),
        (keys.NAME, keys.text),
        (keys.KIND, keys.text),
        (keys.TEXT, keys.text),
        (keys.VOLUME, keys.volume),
    )
    nested = {**segment, "m": dict(segment)}  # the same keys inside its metadata too
    for obj in (segment, nested, {"m": segment}, {"meta": segment, "m": 5}):
        start, name, kind, text, volume = fields.read(obj)
        assert start == keys.read_ms(obj, keys.START)
        assert name == keys.read_text(obj, keys.NAME)
        assert keys.kind_of(kind) == keys.read_kind(obj)
        assert text == keys.read_text(obj, keys.TEXT)
        assert volume == keys.read_volume(obj)


def test_a_lone_surrogate_in_a_draft_is_replaced_not_sent() -> None:
    draft = long_draft(3)
    draft["t"][-1]["sg"][0]["tx"] = "broken \ud83d emoji"
    state = StateResult.of("1", parse_draft(draft))
    shaped = bounded(ok(state, state.text()))
    assert_within_budget(shaped)
    assert "broken \ufffd emoji" in text_of(shaped)
    assert json.dumps(shaped.structured_content, ensure_ascii=False).encode("utf-8")
