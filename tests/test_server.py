"""The MCP server end to end: a real MCP client, in memory and over stdio, against the emulator."""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from tests.conftest import fast_env
from tests.http_server import HttpServer

from nemo_mcp.server import build_server, platform_name
from nemo_mcp.testing import Emulator

pytestmark = pytest.mark.anyio

ERAS = ["legacy", "2026-07-28"]


@pytest.fixture
def make_server(settings_for: Any) -> Any:
    made: list[Any] = []

    def make(**env: str) -> Any:
        server = build_server(settings_for(**env))
        made.append(server)
        return server

    yield make


@pytest.fixture(params=ERAS)
def era(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def connect(server: Any, era: str, **kw: Any) -> Client:
    return Client(server, mode=era, **kw)


class Recorder:
    """Progress notifications and the moment the result arrived, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, float, float | None, str | None]] = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.events.append(("progress", progress, total, message))

    def result(self) -> None:
        self.events.append(("result", 0, None, None))

    @property
    def messages(self) -> list[str]:
        return [m for kind, _, _, m in self.events if kind == "progress" and m]

    def assert_live_and_increasing(self) -> None:
        kinds = [e[0] for e in self.events]
        assert kinds and kinds[-1] == "result" and kinds.count("progress") >= 2, kinds
        values = [v for kind, v, _, _ in self.events if kind == "progress"]
        assert all(b > a for a, b in itertools.pairwise(values)), values


async def call(client: Client, tool: str, args: dict[str, Any], rec: Recorder | None = None) -> Any:
    result = await client.call_tool(tool, args, progress_callback=rec)
    if rec:
        rec.result()
    return result


def text_of(result: Any) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def make_timeline(client: Client, media: dict[str, Path]) -> str:
    up = await call(client, "upload_media", {"paths": [str(media["city.png"]), str(media["park.png"])]})
    assert not up.is_error, text_of(up)
    said = await call(client, "send_instruction", {"instruction": "make a slideshow titled 'Trip'"})
    assert not said.is_error, text_of(said)
    return str(up.structured_content["session_id"])


# -- discovery ------------------------------------------------------------------------------------


async def test_tools_are_listed_with_schemas_and_annotations(make_server: Any, era: str) -> None:
    async with connect(make_server(), era) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) >= {
        "upload_media",
        "send_instruction",
        "get_state",
        "get_credits",
        "export_video",
        "check_job",
        "new_session",
    }
    for tool in tools.values():
        assert tool.output_schema and tool.output_schema.get("type") == "object", tool.name
        assert tool.annotations and tool.annotations.open_world_hint is True
        assert tool.description
    assert tools["get_state"].annotations.read_only_hint and tools["get_credits"].annotations.read_only_hint
    assert not tools["send_instruction"].annotations.read_only_hint
    upload = tools["upload_media"].input_schema["properties"]
    assert set(upload) == {"paths", "urls", "session_id"}
    assert set(tools["export_video"].input_schema["properties"]) == {"session_id", "quality", "download"}


# -- the workflow ---------------------------------------------------------------------------------


async def test_whole_workflow_lands_an_mp4_with_live_progress(
    make_server: Any, era: str, media: dict[str, Path], emulator: Emulator, tmp_path: Path
) -> None:
    emulator.faults.heartbeats = 2
    emulator.faults.render_seconds = 0.2
    server = make_server()
    async with connect(server, era) as client:
        rec = Recorder()
        up = await call(client, "upload_media", {"paths": [str(media["city.png"]), str(media["music.wav"])]}, rec)
        assert [u["kind"] for u in up.structured_content["uploaded"]] == ["image", "audio"]
        rec.assert_live_and_increasing()

        rec = Recorder()
        said = await call(client, "send_instruction", {"instruction": "make a video titled 'Urban Dreams'"}, rec)
        assert not said.is_error, text_of(said)
        out = said.structured_content
        assert out["status"] == "done" and out["timeline_changed"] and out["reply"]
        assert any("Urban Dreams" in c for c in out["changes"])
        rec.assert_live_and_increasing()
        assert any(m.startswith("Running ") for m in rec.messages)
        assert out["reply"].startswith(rec.messages[3][:10]) or any(out["reply"][:10] in m for m in rec.messages)

        state = await call(client, "get_state", {})
        assert state.structured_content["exportable"] and '"Urban Dreams"' in state.structured_content["summary"]

        rec = Recorder()
        exported = await call(client, "export_video", {}, rec)
        assert not exported.is_error, text_of(exported)
        result = exported.structured_content
        path = Path(result["path"])
        assert result["status"] == "done" and path.is_file() and path.stat().st_size == result["size_bytes"]
        assert path.parent == tmp_path / "out"
        links = [c for c in exported.content if c.type == "resource_link"]
        assert links and links[0].uri == path.as_uri() and links[0].mime_type == "video/mp4"
        rec.assert_live_and_increasing()
        assert any("Rendering" in m for m in rec.messages) and any("Downloading" in m for m in rec.messages)


async def test_textless_edit_is_explained_by_the_diff(
    make_server: Any, era: str, media: dict[str, Path], emulator: Emulator
) -> None:
    emulator.faults.textless = True
    async with connect(make_server(), era) as client:
        await call(client, "upload_media", {"paths": [str(media["city.png"])]})
        said = await call(client, "send_instruction", {"instruction": "make a slideshow"})
    assert said.structured_content["reply"].startswith("The timeline was updated: ")
    assert said.structured_content["changes"]


# -- jobs that outlive the call -------------------------------------------------------------------


async def test_slow_instruction_is_collected_with_check_job(
    make_server: Any, era: str, media: dict[str, Path], emulator: Emulator
) -> None:
    server = make_server(NEMO_TOOL_WAIT_SECONDS="0.1")
    async with connect(server, era) as client:
        await call(client, "upload_media", {"paths": [str(media["city.png"])]})
        emulator.faults.stream_event_delay = 0.15
        first = await call(client, "send_instruction", {"instruction": "add the title 'Slow'"})
        assert not first.is_error, text_of(first)
        assert first.structured_content["status"] == "running"
        job_id = first.structured_content["job_id"]
        assert job_id and "check_job" in text_of(first)
        for _ in range(100):
            checked = await call(client, "check_job", {"job_id": job_id})
            assert not checked.is_error, text_of(checked)
            if checked.structured_content["status"] == "done":
                break
        done = checked.structured_content
        assert done["kind"] == "instruction" and done["result"]["timeline_changed"]
        assert any("Slow" in c for c in done["result"]["changes"])


async def test_slow_render_is_collected_and_joined(
    make_server: Any, era: str, media: dict[str, Path], emulator: Emulator
) -> None:
    server = make_server(NEMO_TOOL_WAIT_SECONDS="0.05")
    async with connect(server, era) as client:
        await make_timeline(client, media)
        emulator.faults.render_seconds = 0.6
        first = await call(client, "export_video", {})
        assert first.structured_content["status"] == "running", text_of(first)
        again = await call(client, "export_video", {})
        assert again.structured_content["job_id"] == first.structured_content["job_id"]  # joined, not a 2nd render
        job_id = first.structured_content["job_id"]
        for _ in range(200):
            checked = await call(client, "check_job", {"job_id": job_id})
            if checked.structured_content["status"] == "done":
                break
        assert Path(checked.structured_content["result"]["path"]).is_file()
        assert any(c.type == "resource_link" for c in checked.content)
    assert len(emulator.renders) == 1


async def test_unknown_job_id_is_a_tool_error(make_server: Any, era: str) -> None:
    async with connect(make_server(), era) as client:
        result = await call(client, "check_job", {"job_id": "exp-9-nope"})
    assert result.is_error and "Unknown job id" in text_of(result)


# -- errors ---------------------------------------------------------------------------------------


async def test_expired_token_is_renewed_and_lost_session_is_reset(
    make_server: Any, era: str, media: dict[str, Path], emulator: Emulator
) -> None:
    async with connect(make_server(), era) as client:
        sid = await make_timeline(client, media)
        emulator.expire_tokens()
        state = await call(client, "get_state", {})
        assert not state.is_error and state.structured_content["exportable"]
        emulator.lose_session(sid)
        lost = await call(client, "send_instruction", {"instruction": "add music"})
        assert lost.is_error
        message = text_of(lost)
        assert sid in message and "upload the media again" in message
        fresh = await call(client, "get_state", {})
        assert fresh.structured_content["session_id"] != sid and not fresh.structured_content["exportable"]
        up = await call(client, "upload_media", {"paths": [str(media["city.png"])]})
        assert up.structured_content["session_id"] == fresh.structured_content["session_id"]


async def test_api_refusals_read_well(make_server: Any, era: str, media: dict[str, Path], emulator: Emulator) -> None:
    async with connect(make_server(), era) as client:
        await make_timeline(client, media)
        emulator.faults.plan_limit = True
        blocked = await call(client, "export_video", {})
        assert blocked.is_error and "plan" in text_of(blocked) and "Error executing" not in text_of(blocked)
        emulator.faults.plan_limit = False
        emulator.faults.rate_limit = 2
        limited = await call(client, "get_credits", {})
        assert limited.is_error and "try again in a minute" in text_of(limited)
        sid = next(iter(emulator.sessions))
        emulator.set_credits(emulator.sessions[sid].user_id, 0)
        broke = await call(client, "send_instruction", {"instruction": "add music"})
        assert broke.is_error and "nemovideo.com/register?bind=anon_" in text_of(broke)


async def test_out_of_credits_offers_the_registration_page(
    make_server: Any, media: dict[str, Path], emulator: Emulator
) -> None:
    offered: list[str] = []

    async def elicit(context: Any, params: Any) -> types.ElicitResult:
        offered.append(params.url)
        return types.ElicitResult(action="accept")

    async with connect(make_server(), "legacy", elicitation_callback=elicit) as client:
        await call(client, "upload_media", {"paths": [str(media["city.png"])]})
        user = next(iter(emulator.sessions.values())).user_id
        emulator.set_credits(user, 0)
        broke = await call(client, "send_instruction", {"instruction": "make a slideshow"})
    link = f"https://nemovideo.com/register?bind={user}"
    assert broke.is_error and link in text_of(broke) and offered == [link]


@pytest.mark.parametrize(
    ("tool", "args", "expected"),
    [
        ("get_state", {"session_id": "../../etc"}, "Invalid session id"),
        ("get_state", {"session_id": "a%2fb"}, "Invalid session id"),
        ("upload_media", {"paths": ["/definitely/missing.png"]}, "No file at"),
        ("upload_media", {"urls": ["file:///etc/passwd"]}, "not an http(s) URL"),
        ("upload_media", {}, "Nothing to upload"),
        ("send_instruction", {"instruction": ""}, "empty"),
        ("export_video", {"quality": "ultra"}, "Unknown quality"),
        ("upload_media", {"paths": 5}, "paths"),
    ],
)
async def test_bad_arguments_are_tool_errors(
    make_server: Any, emulator: Emulator, tool: str, args: dict[str, Any], expected: str
) -> None:
    async with connect(make_server(), "legacy") as client:
        result = await call(client, tool, args)
    assert result.is_error and expected in text_of(result), text_of(result)
    assert not [r for r in emulator.requests if r.path.startswith(("/api/upload", "/run_sse", "/api/render"))]


# -- resources ------------------------------------------------------------------------------------


async def test_resources_read_list_and_notify(make_server: Any, media: dict[str, Path], emulator: Emulator) -> None:
    updates: list[str] = []
    list_changes: list[str] = []

    async def on_message(message: Any) -> None:
        root = getattr(message, "root", message)
        if isinstance(root, types.ResourceUpdatedNotification):
            updates.append(str(root.params.uri))
        elif isinstance(root, types.ResourceListChangedNotification):
            list_changes.append("changed")

    async with connect(make_server(), "legacy", message_handler=on_message) as client:
        sid = await make_timeline(client, media)
        listed = [str(r.uri) for r in (await client.list_resources()).resources]
        timeline_uri = f"nemo://sessions/{sid}/timeline"
        assert timeline_uri in listed and "nemo://credits" in listed
        timeline = await client.read_resource(timeline_uri)
        assert '"Trip"' in timeline.contents[0].text
        draft = await client.read_resource(f"nemo://sessions/{sid}/draft")
        assert draft.contents[0].text.startswith("{")
        credits = await client.read_resource("nemo://credits")
        assert '"available"' in credits.contents[0].text

        await client.subscribe_resource(timeline_uri)
        await call(client, "send_instruction", {"instruction": "add the title 'Changed'"})
        with anyio.fail_after(5):
            while timeline_uri not in updates:
                await anyio.sleep(0.01)
        await call(client, "new_session", {})
        with anyio.fail_after(5):
            while not list_changes:
                await anyio.sleep(0.01)
        await client.set_logging_level("debug")
        before = len(emulator.sessions)
        emulator.lose_session(sid)
        with pytest.raises(Exception, match="may have expired"):
            await client.read_resource(timeline_uri)
        assert len(emulator.sessions) == before - 1  # reading is side-effect free: no replacement session


async def test_modern_clients_hear_updates_through_listen(make_server: Any, media: dict[str, Path]) -> None:
    server = make_server()
    async with connect(server, "2026-07-28") as client:
        sid = await make_timeline(client, media)
        uri = f"nemo://sessions/{sid}/timeline"
        heard: list[Any] = []
        async with client.listen(resources_list_changed=True, resource_subscriptions=[uri]) as events:

            async def edit() -> None:
                await call(client, "send_instruction", {"instruction": "add the title 'Heard'"})
                await call(client, "new_session", {})

            async with anyio.create_task_group() as tg:
                tg.start_soon(edit)
                with anyio.fail_after(10):
                    async for event in events:
                        heard.append(event)
                        if len(heard) >= 2:
                            break
    names = {type(e).__name__ for e in heard}
    assert "ResourceUpdated" in names and "ResourcesListChanged" in names, heard


async def test_prompt_walks_through_the_workflow(make_server: Any, era: str) -> None:
    async with connect(make_server(), era) as client:
        prompts = (await client.list_prompts()).prompts
        assert [p.name for p in prompts] == ["animate_images"]
        got = await client.get_prompt("animate_images", {"folder_or_files": "~/Pictures/trip", "title": "Trip"})
    text = got.messages[0].content.text
    assert "upload_media" in text and "Trip" in text and "export_video" in text


# -- concurrency and cancellation ------------------------------------------------------------------


async def test_two_sessions_run_at_once_and_one_session_serialises(
    make_server: Any, media: dict[str, Path], emulator: Emulator
) -> None:
    server = make_server()
    async with connect(server, "legacy") as client:
        first = await make_timeline(client, media)
        second = (await call(client, "new_session", {})).structured_content["session_id"]
        await call(client, "upload_media", {"paths": [str(media["park.png"])], "session_id": second})
        emulator.faults.stream_event_delay = 0.05
        results: dict[str, Any] = {}

        async def instruct(key: str, sid: str, title: str) -> None:
            results[key] = await call(
                client, "send_instruction", {"instruction": f"add the title '{title}'", "session_id": sid}
            )

        with anyio.fail_after(30):  # a guard against a deadlock between the two sessions, not a speed target
            async with anyio.create_task_group() as tg:
                tg.start_soon(instruct, "a", first, "A")
                tg.start_soon(instruct, "b", second, "B")
                tg.start_soon(instruct, "c", first, "C")
        assert all(not r.is_error for r in results.values()), [text_of(r) for r in results.values()]
        assert results["b"].structured_content["session_id"] == second
        assert '"B"' in (await call(client, "get_state", {"session_id": second})).structured_content["summary"]
        # On one session the second edit started from the first one's result, not beside it.
        changes = [c for key in ("a", "c") for c in results[key].structured_content["changes"]]
        assert "Removed title 'A'" in changes or "Removed title 'C'" in changes, changes


async def test_cancelling_a_call_cancels_its_job(make_server: Any, media: dict[str, Path], emulator: Emulator) -> None:
    server = make_server()
    async with connect(server, "legacy") as client:
        await call(client, "upload_media", {"paths": [str(media["city.png"])]})
        emulator.faults.heartbeats = 1000
        emulator.faults.heartbeat_interval = 0.05
        with anyio.move_on_after(0.5):
            await call(client, "send_instruction", {"instruction": "make a slideshow"})
        # The cancelled job held the project's lock for its whole stream (50 s of heartbeats):
        # the next instruction runs at once only if the job really stopped.
        emulator.faults.heartbeats = 0
        with anyio.fail_after(5):
            after = await call(client, "send_instruction", {"instruction": "make a slideshow"})
        assert not after.is_error, text_of(after)


# -- identity -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("claude-code", "claude_code"),
        ("Cursor", "cursor"),
        ("My Host 2!", "my_host_2"),
        (None, "unknown"),
        ("", "unknown"),
    ],
)
def test_platform_names(name: str | None, expected: str) -> None:
    assert platform_name(name) == expected


async def test_platform_header_follows_the_client_name(make_server: Any, era: str, emulator: Emulator) -> None:
    info = types.Implementation(name="claude-code", version="2.0")
    async with connect(make_server(), era, client_info=info) as client:
        await call(client, "get_credits", {})
    record = [r for r in emulator.requests if r.path.startswith("/api/credits")][-1]
    assert record.headers["x-skill-platform"] == "claude_code"


# -- stdio ----------------------------------------------------------------------------------------


async def test_stdio_server_runs_the_workflow(
    emulator: Emulator, tmp_path: Path, media: dict[str, Path], era: str
) -> None:
    env = {**os.environ, **fast_env(emulator.url, tmp_path)}
    params = StdioServerParameters(command=sys.executable, args=["-m", "nemo_mcp"], env=env)
    async with Client(params, mode=era) as client:
        sid = await make_timeline(client, media)
        exported = await call(client, "export_video", {})
        assert not exported.is_error, text_of(exported)
        assert Path(exported.structured_content["path"]).is_file()
    # A restarted server continues the same project.
    async with Client(params, mode=era) as client:
        state = await call(client, "get_state", {})
        assert state.structured_content["session_id"] == sid and state.structured_content["exportable"]


# -- streamable HTTP ------------------------------------------------------------------------------


@pytest.fixture
def http_server(emulator: Emulator, tmp_path: Path) -> Any:
    server = HttpServer(tmp_path, "127.0.0.1", env=fast_env(emulator.url, tmp_path))
    yield server.url
    server.stop()


async def test_streamable_http_serves_both_eras(
    http_server: str, era: str, media: dict[str, Path], emulator: Emulator
) -> None:
    emulator.faults.heartbeats = 2
    async with Client(http_server, mode=era) as client:
        rec = Recorder()
        await call(client, "upload_media", {"paths": [str(media["city.png"])]})
        said = await call(client, "send_instruction", {"instruction": "add the title 'Web'"}, rec)
        assert not said.is_error and said.structured_content["timeline_changed"], text_of(said)
        rec.assert_live_and_increasing()


async def test_streamable_http_refuses_foreign_hosts(http_server: str) -> None:
    import httpx

    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    async with httpx.AsyncClient() as http:
        evil = await http.post(http_server, json=body, headers={"Host": "evil.example"})
        origin = await http.post(http_server, json=body, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 421 and origin.status_code == 403
