"""Property tests: the parsers never raise, never mutate, and a draft never differs from itself."""

from __future__ import annotations

import contextlib
import copy
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nemo_mcp.cloud.sse import EventDecoder, Heartbeat, StreamError, TextDelta, ToolCall, ToolResult
from nemo_mcp.draft import Timeline, diff, is_exportable, parse_draft, summarize
from nemo_mcp.results import StateResult

SETTINGS = settings(max_examples=200, deadline=None)

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=30,
)

# Drafts built from the keys the parser looks at, with values of any type.
SEGMENT_KEYS = [
    "id", "st", "s", "start", "startTime", "start_ms", "offset", "d", "dur", "duration", "duration_ms",
    "n", "name", "title", "filename", "label", "k", "kind", "type", "media_type", "src", "url",
    "cdn_url", "source", "path", "tx", "text", "content", "caption", "v", "vol", "volume", "fx", "ss",
]  # fmt: skip
plausible = (
    st.integers(min_value=-1000, max_value=20000)
    | st.floats(min_value=-1, max_value=200)
    | st.sampled_from(["city.jpg", "Urban Dreams", "image", "video/mp4", "", "0", "7"])
    | scalars
)
segments = st.dictionaries(st.sampled_from(SEGMENT_KEYS), plausible, max_size=8) | json_values
tracks = st.fixed_dictionaries(
    {},
    optional={
        "tt": st.sampled_from([0, 1, 7, 3, "1", "video", None, True, 7.0, -1]) | scalars,
        "sg": st.lists(segments, max_size=5) | json_values,
        "segments": st.lists(segments, max_size=3),
    },
)
drafts = st.fixed_dictionaries(
    {},
    optional={
        "t": st.lists(tracks, max_size=5) | json_values,
        "d": plausible,
        "m": st.fixed_dictionaries({}, optional={"title": plausible, "width": plausible, "height": plausible})
        | json_values,
        "extra": json_values,
    },
)
any_draft = drafts | json_values | drafts.map(json.dumps)


class _Failures(logging.Handler):
    """Collects ERROR records: the decoder logs (and swallows) any exception of its own."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def decoder_failures() -> Iterator[_Failures]:
    handler = _Failures()
    logger = logging.getLogger("nemo_mcp.cloud.sse")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


# --- timeline --------------------------------------------------------------------------------


@SETTINGS
@given(any_draft)
def test_timeline_functions_never_raise_and_never_mutate(draft: Any) -> None:
    snapshot = json.dumps(draft)
    timeline = parse_draft(draft)
    assert isinstance(timeline, Timeline)
    assert isinstance(summarize(timeline), str)
    assert is_exportable(draft) == timeline.exportable
    assert diff(draft, draft) == []
    assert json.dumps(draft) == snapshot


@SETTINGS
@given(drafts, json_values)
def test_canvas_of_any_shape_is_accepted(draft: Any, canvas: Any) -> None:
    timeline = parse_draft(draft, canvas)
    assert timeline.width is None or timeline.width > 0


@SETTINGS
@given(drafts)
def test_parsed_segments_are_consistent(draft: Any) -> None:
    timeline = parse_draft(draft)
    for track in timeline.tracks:
        for segment in track.segments:
            assert 0 <= segment.start_ms <= segment.end_ms
            assert segment.end_ms == segment.start_ms + segment.duration_ms
            assert segment.volume is None or 0 <= segment.volume <= 1
    assert timeline.duration_ms >= 0
    # The structured output reads back as what it says.
    state = StateResult.of("1", timeline)
    assert StateResult.model_validate(state.model_dump(mode="json")) == state
    shown = [s for track in state.tracks for s in track.segments]
    assert len(shown) == state.segments_shown == timeline.segment_count


@SETTINGS
@given(any_draft, any_draft)
def test_diff_never_raises_and_is_deterministic(before: Any, after: Any) -> None:
    snapshots = json.dumps(before), json.dumps(after)
    first = diff(before, after)
    assert all(isinstance(sentence, str) and sentence for sentence in first)
    assert diff(copy.deepcopy(before), copy.deepcopy(after)) == first
    assert (json.dumps(before), json.dumps(after)) == snapshots


@SETTINGS
@given(drafts)
def test_a_draft_with_segments_differs_from_an_empty_one(draft: Any) -> None:
    timeline = parse_draft(draft)
    if timeline.exportable:
        assert diff(None, draft)
        assert diff(draft, None)


# --- SSE -------------------------------------------------------------------------------------

EVENT_TYPES = (TextDelta, ToolCall, ToolResult, StreamError, Heartbeat)
sse_fields = st.sampled_from(["data: ", "data:", ": ", "event: ", "id: ", "retry: ", "", "x"])
json_lines = st.builds(lambda prefix, value: prefix + json.dumps(value), sse_fields, json_values)
adk_like = st.builds(
    lambda partial, parts: "data: " + json.dumps({"partial": partial, "content": {"parts": parts}}),
    st.none() | st.booleans(),
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "text": st.text(max_size=10) | scalars,
                "thought": scalars,
                "functionCall": json_values,
                "function_response": json_values,
            },
        )
        | json_values,
        max_size=3,
    ),
)
typed_like = st.builds(
    lambda kind, rest: "data: " + json.dumps({"type": kind, **rest}),
    st.sampled_from(["text", "tool_call", "tool_result", "heartbeat", "error", "ping", "other"]),
    st.dictionaries(
        st.sampled_from(["content", "text", "name", "args", "result", "message", "error", "code", "id"]),
        json_values,
        max_size=4,
    ),
)
any_line = (
    st.text(max_size=40)
    | st.binary(max_size=40).map(lambda b: b.decode("utf-8", errors="replace"))
    | st.binary(max_size=40).map(lambda b: b.decode("latin-1"))
    | json_lines
    | adk_like
    | typed_like
    | st.just("")
)


@SETTINGS
@given(st.lists(any_line, max_size=30))
def test_decoder_never_raises(decoder_failures: _Failures, lines: list[str]) -> None:
    decoder = EventDecoder()
    events = []
    for line in lines:
        events.extend(decoder.feed_line(line))
    events.extend(decoder.close())
    assert all(isinstance(event, EVENT_TYPES) for event in events)
    assert all(event.text for event in events if isinstance(event, TextDelta))
    assert decoder_failures.records == []


@SETTINGS
@given(st.lists(st.text(min_size=1, max_size=10), max_size=6))
def test_streamed_text_is_shown_exactly_once(chunks: list[str]) -> None:
    """Partial chunks and then the repeated whole text: the user sees the text once."""
    decoder = EventDecoder()
    shown: list[str] = []

    def feed(payload: dict[str, Any]) -> None:
        for event in [*decoder.feed_line("data: " + json.dumps(payload)), *decoder.feed_line("")]:
            assert isinstance(event, TextDelta)
            shown.append(event.text)

    for chunk in chunks:
        feed({"partial": True, "content": {"parts": [{"text": chunk}]}})
    feed({"content": {"parts": [{"text": "".join(chunks)}]}})
    assert "".join(shown) == "".join(chunks)


# -- the API's answers --------------------------------------------------------------------------

from nemo_mcp.cloud import api  # noqa: E402
from nemo_mcp.draft.rawjson import member_text  # noqa: E402
from nemo_mcp.errors import NemoError  # noqa: E402


@SETTINGS
@given(status=st.integers(min_value=100, max_value=599), body=json_values)
def test_envelope_parsing_raises_only_our_errors(status: int, body: Any) -> None:
    error = api.error_for(status, body)
    assert error is None or isinstance(error, NemoError)
    if error is not None:
        assert error.message  # something a user can read
    for parse in (api.parse_credits, api.parse_session, api.parse_upload, api.parse_token):
        with contextlib.suppress(NemoError):
            parse(api.data_of(body))
    with contextlib.suppress(NemoError):
        assert api.parse_render_status(body, "render_1").render_id


@SETTINGS
@given(text=st.text(max_size=200))
def test_json_text_parsing_raises_only_our_errors(text: str) -> None:
    with contextlib.suppress(NemoError):
        api.parse_json(text)
    assert api.raw_draft(text) is None or isinstance(api.raw_draft(text), str)


@SETTINGS
@given(
    draft=any_draft, wrapper=st.sampled_from(["envelope", "bare", "data"]), spaces=st.sampled_from(["", " ", "\n  "])
)
def test_the_draft_round_trips_byte_for_byte(draft: Any, wrapper: str, spaces: str) -> None:
    draft_text = json.dumps(draft, ensure_ascii=False, indent=1 if spaces else None)
    inner = (
        f'{{"session_id":"1",{spaces}"state":{spaces}{{"canvas_config":{{}},"draft":{spaces}{draft_text}{spaces}}}}}'
    )
    answer = {"envelope": f'{{"code":0,"data":{inner}}}', "bare": inner, "data": f'{{"data":{inner}}}'}[wrapper]
    assert api.raw_draft(answer) == draft_text
    body = api.render_body("render_1", "1", draft_text, "high")
    assert member_text(body.decode(), ("draft",)) == draft_text
    assert json.loads(body)["draft"] == json.loads(draft_text)
