"""The /run_sse decoder: both documented event forms, heartbeats, de-duplication, junk."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

import anyio
import httpx
import pytest
from anyio.abc import SocketAttribute, SocketStream

from nemo_mcp.cloud.sse import (
    Event,
    EventDecoder,
    Heartbeat,
    StreamError,
    TextDelta,
    ToolCall,
    ToolResult,
    iter_events,
    sse_lines,
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def decode(lines: Iterable[str]) -> list[Event]:
    decoder = EventDecoder()
    events: list[Event] = []
    for line in lines:
        events.extend(decoder.feed_line(line))
    events.extend(decoder.close())
    return events


def data(payload: Any) -> list[str]:
    """One SSE event carrying ``payload`` as JSON, with its closing blank line."""
    return [f"data: {json.dumps(payload)}", ""]


def adk(*parts: dict[str, Any], partial: bool | None = None, **extra: Any) -> list[str]:
    event: dict[str, Any] = {
        "id": "e1",
        "invocationId": "inv1",
        "author": "nemo_agent",
        "content": {"role": "model", "parts": list(parts)},
        **extra,
    }
    if partial is not None:
        event["partial"] = partial
    return data(event)


# --- ADK events ------------------------------------------------------------------------------


def test_adk_text_function_call_and_response() -> None:
    lines = [
        *adk({"text": "Adding a title."}),
        *adk({"functionCall": {"id": "c1", "name": "edit_multitrack", "args": {"op": "add_text"}}}),
        *adk({"functionResponse": {"id": "c1", "name": "edit_multitrack", "response": {"ok": True}}}),
    ]
    assert decode(lines) == [
        TextDelta("Adding a title."),
        ToolCall("edit_multitrack", {"op": "add_text"}, "c1"),
        ToolResult("edit_multitrack", {"ok": True}, "c1"),
    ]


def test_adk_snake_case_keys() -> None:
    event = {
        "invocation_id": "inv",
        "content": {
            "parts": [
                {"function_call": {"name": "edit_multitrack", "args": {"x": 1}}},
                {"function_response": {"name": "edit_multitrack", "response": "done"}},
            ]
        },
    }
    error = {"invocation_id": "inv", "error_code": "500", "error_message": "Model overloaded"}
    assert decode([*data(event), *data(error)]) == [
        ToolCall("edit_multitrack", {"x": 1}),
        ToolResult("edit_multitrack", "done"),
        StreamError("Model overloaded", 500),
    ]


def test_adk_thought_parts_are_not_shown() -> None:
    lines = adk({"text": "let me think", "thought": True}, {"text": "Done."})
    assert decode(lines) == [TextDelta("Done.")]


def test_adk_parts_keep_their_order_around_the_text() -> None:
    call = {"functionCall": {"name": "edit_multitrack", "args": {}}}
    lines = adk(call, {"text": "First "}, {"text": "second."})
    assert decode(lines) == [ToolCall("edit_multitrack", {}), TextDelta("First second.")]


def test_adk_function_call_args_missing_or_encoded() -> None:
    lines = [
        *adk({"functionCall": {"name": "a"}}),
        *adk({"functionCall": {"name": "b", "args": '{"k": 2}'}}),
        *adk({"functionCall": {"name": "c", "args": [1, 2]}}),
    ]
    assert decode(lines) == [ToolCall("a", {}), ToolCall("b", {"k": 2}), ToolCall("c", {})]


# --- de-duplication of the final ADK text ----------------------------------------------------


def test_final_text_equal_to_the_streamed_text_is_not_repeated() -> None:
    lines = [
        *adk({"text": "Hello "}, partial=True),
        *adk({"text": "world"}, partial=True),
        *adk({"text": "Hello world"}, partial=False),
    ]
    assert decode(lines) == [TextDelta("Hello "), TextDelta("world")]


def test_final_text_extending_the_streamed_text_adds_only_the_rest() -> None:
    lines = [
        *adk({"text": "Hello "}, partial=True),
        *adk({"text": "Hello world."}),  # no "partial" key: non-partial
    ]
    assert decode(lines) == [TextDelta("Hello "), TextDelta("world.")]


def test_final_text_without_partials_is_shown_whole() -> None:
    assert decode(adk({"text": "All done."}, partial=False)) == [TextDelta("All done.")]


def test_final_text_that_differs_is_shown_whole() -> None:
    lines = [
        *adk({"text": "Draft answer"}, partial=True),
        *adk({"text": "Final answer"}, partial=False),
    ]
    assert decode(lines) == [TextDelta("Draft answer"), TextDelta("Final answer")]


def test_deduplication_resets_after_each_non_partial_event() -> None:
    lines = [
        *adk({"text": "One."}, partial=True),
        *adk({"text": "One."}, partial=False),
        # A new turn of text: nothing was streamed since the last non-partial event.
        *adk({"text": "One."}, partial=False),
        *adk({"text": "Two"}, partial=True),
        *adk({"functionCall": {"name": "edit_multitrack", "args": {}}}),  # non-partial: resets
        *adk({"text": "Two"}, partial=False),
    ]
    assert decode(lines) == [
        TextDelta("One."),
        TextDelta("One."),
        TextDelta("Two"),
        ToolCall("edit_multitrack", {}),
        TextDelta("Two"),
    ]


def test_thoughts_do_not_count_as_streamed_text() -> None:
    lines = [
        *adk({"text": "hmm", "thought": True}, partial=True),
        *adk({"text": "Hi"}, partial=True),
        *adk({"text": "hmm", "thought": True}, {"text": "Hi there"}, partial=False),
    ]
    assert decode(lines) == [TextDelta("Hi"), TextDelta(" there")]


# --- typed events ----------------------------------------------------------------------------


def test_typed_events() -> None:
    lines = [
        *data({"type": "text", "content": "Sure, "}),
        *data({"type": "text", "text": "adding music."}),
        *data({"type": "tool_call", "name": "edit_multitrack", "args": {"track": 1}}),
        *data({"type": "tool_result", "name": "edit_multitrack", "result": {"ok": True}}),
        *data({"type": "heartbeat"}),
        *data({"type": "error", "message": "Out of credits", "code": 2001}),
        *data({"type": "error", "error": "Safety filter", "code": "SAFETY"}),
        *data({"type": "done"}),  # unknown type: ignored
    ]
    assert decode(lines) == [
        TextDelta("Sure, "),
        TextDelta("adding music."),
        ToolCall("edit_multitrack", {"track": 1}),
        ToolResult("edit_multitrack", {"ok": True}),
        Heartbeat(),
        StreamError("Out of credits", 2001),
        StreamError("Safety filter (SAFETY)", None),
    ]


def test_typed_text_is_always_a_delta() -> None:
    lines = [*data({"type": "text", "content": "Same"}), *data({"type": "text", "content": "Same"})]
    assert decode(lines) == [TextDelta("Same"), TextDelta("Same")]


def test_sse_event_name_gives_the_type() -> None:
    lines = ["event: tool_call", 'data: {"name": "edit_multitrack", "args": {}}', ""]
    lines += ["event: error", "data: the agent crashed", ""]
    assert decode(lines) == [ToolCall("edit_multitrack", {}), StreamError("the agent crashed")]


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"error": "Session expired"}, StreamError("Session expired")),
        ({"error": {"message": "Quota", "code": 429}}, StreamError("Quota", 429)),
        ({"errorCode": "SAFETY", "errorMessage": "Blocked"}, StreamError("Blocked (SAFETY)")),
        ({"errorCode": 500}, StreamError("The NemoVideo editor reported error 500.", 500)),
        ({"errorCode": "42", "errorMessage": "x"}, StreamError("x", 42)),
        ({"errorCode": "SAFETY"}, StreamError("The NemoVideo editor stopped: SAFETY.")),
    ],
)
def test_adk_errors(payload: dict[str, Any], expected: StreamError) -> None:
    assert decode(data(payload)) == [expected]


def test_adk_event_with_null_error_fields_is_not_an_error() -> None:
    lines = adk({"text": "ok"}, errorCode=None, errorMessage=None, error=None)
    assert decode(lines) == [TextDelta("ok")]


# --- heartbeats, framing ---------------------------------------------------------------------


def test_heartbeats_of_all_kinds() -> None:
    lines = [": ping", "", "data:", "", "data: ", "", *data({"type": "heartbeat"}), "event: ping", ""]
    assert decode(lines) == [Heartbeat()] * 5


def test_blank_lines_alone_are_nothing_even_after_an_id_field() -> None:
    # httpx-sse keeps the last id and would dispatch an empty event on every blank line.
    lines = ["id: 7", *data({"type": "text", "content": "a"})[:1], "", "", "", ""]
    assert decode(lines) == [TextDelta("a")]


def test_multi_line_data_is_joined_with_newlines() -> None:
    lines = ['data: {"type": "text",', 'data:  "content": "two lines"}', ""]
    assert decode(lines) == [TextDelta("two lines")]
    assert decode(["data: first line", "data: second line", ""]) == [TextDelta("first line\nsecond line")]


def test_last_event_without_a_blank_line_is_flushed_at_close() -> None:
    decoder = EventDecoder()
    assert decoder.feed_line('data: {"type": "text", "content": "tail"}') == []
    assert decoder.close() == [TextDelta("tail")]
    assert decoder.close() == []


def test_close_with_nothing_pending_returns_nothing() -> None:
    decoder = EventDecoder()
    assert decoder.feed_line('data: {"type": "text", "content": "x"}') == []
    assert decoder.feed_line("") == [TextDelta("x")]
    assert decoder.close() == []


def test_a_line_with_embedded_line_breaks_is_split() -> None:
    assert decode(['data: {"type": "text", "content": "a"}\r\n\r\ndata: plain\n']) == [
        TextDelta("a"),
        TextDelta("plain"),
    ]


def test_plain_text_data_is_text_unless_blank_or_protocol_junk() -> None:
    lines = ["data: Hello there", "", "data: [DONE]", "", 'data: {"broken', "", "data: [1, 2", ""]
    assert decode(lines) == [TextDelta("Hello there")]


@pytest.mark.parametrize(
    "payload",
    ["42", "true", "null", '"a string"', "[1, 2]", '{"unknown": 1}', '{"type": 5}', '{"content": "x"}'],
)
def test_json_of_unknown_shape_is_ignored(payload: str) -> None:
    assert decode([f"data: {payload}", ""]) == []


def test_deeply_nested_json_does_not_raise() -> None:
    assert decode(["data: " + "[" * 100_000, ""]) == []
    assert decode(["data: " + '{"a":' * 100_000, ""]) == []


def test_other_fields_are_ignored() -> None:
    assert decode(["retry: 3000", "id: 1", "foo: bar", *data({"type": "text", "content": "x"})]) == [TextDelta("x")]


# --- async helpers ---------------------------------------------------------------------------


async def _aiter(items: Iterable[str]) -> AsyncIterator[str]:
    for item in items:
        yield item


@pytest.mark.anyio
async def test_iter_events_over_async_lines() -> None:
    lines = [
        ": ping",
        *adk({"text": "Hi "}, partial=True),
        *adk({"text": "Hi all"}, partial=False),
        'data: {"type": "tool_call", "name": "n", "args": {}}',  # no blank line before the end
    ]
    events = [event async for event in iter_events(_aiter(lines))]
    assert events == [Heartbeat(), TextDelta("Hi "), TextDelta("all"), ToolCall("n", {})]


@pytest.mark.anyio
async def test_sse_lines_splits_on_cr_lf_and_crlf_only() -> None:
    chunks = ["a\r", "\nb\rc\n", "d\u2028e\x0cf", "\r\n", "", "g\r", "h", "\r"]
    lines = [line async for line in sse_lines(_aiter(chunks))]
    assert lines == ["a", "b", "c", "d\u2028e\x0cf", "g", "h"]


@pytest.mark.anyio
async def test_sse_lines_keeps_an_unterminated_last_line_and_blank_lines() -> None:
    lines = [line async for line in sse_lines(_aiter(["x\n\n", "\r\n", "tail"]))]
    assert lines == ["x", "", "", "tail"]


# --- over real HTTP --------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("via_text", [True, False], ids=["sse_lines", "aiter_lines"])
async def test_over_http(via_text: bool) -> None:
    text_with_separator = "Line one\u2028line two" if via_text else "No separators here"
    body = (
        ": ping\r\n\r\n"
        + "".join(f"{line}\r\n" for line in adk({"text": "Working"}, partial=True))
        + "".join(
            f"{line}\r\n" for line in adk({"text": "Working on it."}, {"functionCall": {"name": "x", "args": {}}})
        )
        + f"data: {json.dumps({'type': 'text', 'content': text_with_separator}, ensure_ascii=False)}"
    ).encode()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"

    async def handle(stream: SocketStream) -> None:
        async with stream:
            request = b""
            while b"\r\n\r\n" not in request:
                request += await stream.receive()
            await stream.send(head)
            # Small writes so that events and CRLF pairs straddle chunks.
            for start in range(0, len(body), 7):
                await stream.send(body[start : start + 7])

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handle)
        async with (
            httpx.AsyncClient() as client,
            client.stream("POST", f"http://127.0.0.1:{port}/run_sse", json={}) as response,
        ):
            lines = sse_lines(response.aiter_text()) if via_text else response.aiter_lines()
            events = [event async for event in iter_events(lines)]
        tg.cancel_scope.cancel()
    assert events == [
        Heartbeat(),
        TextDelta("Working"),
        TextDelta(" on it."),
        ToolCall("x", {}),
        TextDelta(text_with_separator),
    ]
