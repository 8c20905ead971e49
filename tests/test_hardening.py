"""Hardening: faults injected in the emulator, hostile arguments, and secrets, all driven through MCP."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from tests.conftest import fast_env

from nemo_mcp.cloud.client import NemoClient
from nemo_mcp.testing import Emulator

pytestmark = pytest.mark.anyio

UPLOADS = ("/api/upload", "/run_sse", "/api/render")


def text_of(result: Any) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def timeline(client: Client, media: dict[str, Path]) -> str:
    up = await client.call_tool("upload_media", {"paths": [str(media["city.png"]), str(media["park.png"])]})
    assert not up.is_error, text_of(up)
    said = await client.call_tool("send_instruction", {"instruction": "make a slideshow titled 'Trip'"})
    assert not said.is_error, text_of(said)
    return str(up.structured_content["session_id"])


def sent(emulator: Emulator, prefixes: tuple[str, ...] = UPLOADS) -> list[str]:
    return [r.path for r in emulator.requests if r.path.startswith(prefixes)]


# -- the fault matrix ------------------------------------------------------------------------------


async def test_user_token_refused_names_the_variable(server: Any, emulator: Emulator) -> None:
    emulator.add_user_token("nmv_usr_mine")
    async with Client(server(NEMO_TOKEN="nmv_usr_mine"), mode="legacy") as client:
        assert not (await client.call_tool("get_credits", {})).is_error
        emulator.expire_tokens()
        refused = await client.call_tool("get_credits", {})
    assert refused.is_error and "NEMO_TOKEN" in text_of(refused)
    assert emulator.token_requests == 0


@pytest.mark.parametrize("fault", ["server_error", "reset_connection"])
async def test_flaky_reads_recover_then_fail_clearly(server: Any, emulator: Emulator, fault: str) -> None:
    async with Client(server(), mode="legacy") as client:
        await client.call_tool("get_credits", {})
        setattr(emulator.faults, fault, 2)
        assert not (await client.call_tool("get_credits", {})).is_error
        setattr(emulator.faults, fault, 100)
        failed = await client.call_tool("get_credits", {})
    assert failed.is_error and "try again" in text_of(failed)


async def test_429_once_then_twice(server: Any, emulator: Emulator) -> None:
    async with Client(server(), mode="legacy") as client:
        await client.call_tool("get_credits", {})
        emulator.faults.rate_limit = 1
        assert not (await client.call_tool("get_credits", {})).is_error
        emulator.faults.rate_limit = 2
        limited = await client.call_tool("get_credits", {})
    assert limited.is_error and "rate limiting" in text_of(limited) and "try again in a minute" in text_of(limited)


@pytest.mark.parametrize("applied", [True, False])
async def test_dropped_stream_is_never_a_silent_success(
    server: Any, emulator: Emulator, media: dict[str, Path], applied: bool
) -> None:
    async with Client(server(), mode="legacy") as client:
        await client.call_tool("upload_media", {"paths": [str(media["city.png"])]})
        emulator.faults.drop_stream_after = 0
        emulator.faults.drop_applies_edit = applied
        result = await client.call_tool("send_instruction", {"instruction": "add the title 'Dropped'"})
    if applied:
        assert not result.is_error and result.structured_content["timeline_changed"]
        assert "dropped" in (result.structured_content["note"] or "") and "Dropped" in text_of(result)
    else:
        assert result.is_error and "not applied" in text_of(result) and "send the instruction again" in text_of(result)


async def test_quiet_stream_keeps_progress_flowing_until_the_bound(
    server: Any, emulator: Emulator, media: dict[str, Path]
) -> None:
    messages: list[str] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    async with Client(server(NEMO_SSE_TIMEOUT_SECONDS="60"), mode="legacy") as client:
        await client.call_tool("upload_media", {"paths": [str(media["city.png"])]})
        emulator.faults.heartbeats = 40
        emulator.faults.heartbeat_interval = 0.01
        ok = await client.call_tool("send_instruction", {"instruction": "make a slideshow"}, progress_callback=progress)
        assert not ok.is_error and any(m.startswith("Still working") for m in messages)
    # With a bound shorter than the quiet stretch the job ends there, with the timeline checked.
    emulator.faults.heartbeats = 1000
    emulator.faults.heartbeat_interval = 0.02
    async with Client(server(NEMO_SSE_TIMEOUT_SECONDS="0.3"), mode="legacy") as client:
        timed_out = await client.call_tool("send_instruction", {"instruction": "make a slideshow"})
    assert timed_out.is_error and "still working after 0.3 s" in text_of(timed_out)
    assert "not applied" in text_of(timed_out)


async def test_failed_and_stuck_renders_name_the_render(
    server: Any, emulator: Emulator, media: dict[str, Path]
) -> None:
    async with Client(server(NEMO_RENDER_TIMEOUT_SECONDS="0.3"), mode="legacy") as client:
        await timeline(client, media)
        emulator.faults.fail_render = True
        failed = await client.call_tool("export_video", {})
        emulator.faults.fail_render = False
        emulator.faults.render_seconds = 3600
        stuck = await client.call_tool("export_video", {})
    failed_id, stuck_id = list(emulator.renders)
    assert failed.is_error and failed_id in text_of(failed)
    assert stuck.is_error and stuck_id in text_of(stuck) and "stuck" in text_of(stuck)
    assert emulator.renders[stuck_id].cancelled


async def test_cut_download_and_disk_errors_leave_nothing_and_can_retry(
    server: Any, emulator: Emulator, media: dict[str, Path], tmp_path: Path
) -> None:
    nemo = server()
    async with Client(nemo, mode="legacy") as client:
        await timeline(client, media)
        emulator.faults.cut_download_after = 50_000
        cut = await client.call_tool("export_video", {})
        assert cut.is_error and "no file was kept" in text_of(cut)
        out = tmp_path / "out"
        assert list(out.iterdir()) == []
        emulator.faults.cut_download_after = None
        again = await client.call_tool("export_video", {})
        assert not again.is_error and Path(again.structured_content["path"]).is_file()
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the output folder should be")
    async with Client(server(NEMO_OUTPUT_DIR=str(blocked / "videos")), mode="legacy") as client:
        refused = await client.call_tool("export_video", {})
    assert refused.is_error and "NEMO_OUTPUT_DIR" in text_of(refused)


async def test_corrupt_state_starts_with_a_warning(emulator: Emulator, tmp_path: Path) -> None:
    env = {**os.environ, **fast_env(emulator.url, tmp_path)}
    state = tmp_path / "state"
    state.mkdir()
    (state / "state.db").write_text("\x00garbage")
    errlog = tmp_path / "stderr.txt"
    with open(errlog, "w") as err:
        params = StdioServerParameters(command=sys.executable, args=["-m", "nemo_mcp"], env=env)
        async with Client(stdio_client(params, errlog=err), mode="legacy") as client:
            assert not (await client.call_tool("get_credits", {})).is_error
    assert "could not be read" in errlog.read_text()


async def test_two_clients_on_one_session_are_serialised(
    server: Any, emulator: Emulator, media: dict[str, Path]
) -> None:
    nemo = server()
    async with Client(nemo, mode="legacy") as first, Client(nemo, mode="legacy") as second:
        sid = await timeline(first, media)
        emulator.faults.stream_event_delay = 0.03
        results: list[Any] = []

        async def say(client: Client, title: str) -> None:
            results.append(
                await client.call_tool(
                    "send_instruction", {"instruction": f"add the title '{title}'", "session_id": sid}
                )
            )

        async with anyio.create_task_group() as tg:
            tg.start_soon(say, first, "One")
            tg.start_soon(say, second, "Two")
    assert all(not r.is_error for r in results)
    titles = [s for s in emulator.sessions[sid].draft["t"] if s.get("tt") == 7]
    assert len(titles) == 1 and len(titles[0]["sg"]) == 1  # one title: the second edit saw the first


async def test_two_processes_share_one_token_and_all_sessions(emulator: Emulator, tmp_path: Path) -> None:
    env = {**os.environ, **fast_env(emulator.url, tmp_path)}
    params = StdioServerParameters(command=sys.executable, args=["-m", "nemo_mcp"], env=env)
    created: list[str] = []
    async with Client(params, mode="legacy") as a, Client(params, mode="legacy") as b:

        async def start(client: Client) -> None:
            await client.call_tool("get_credits", {})
            created.append((await client.call_tool("new_session", {})).structured_content["session_id"])

        async with anyio.create_task_group() as tg:
            tg.start_soon(start, a)
            tg.start_soon(start, b)
    assert emulator.token_requests == 1
    with sqlite3.connect(tmp_path / "state" / "state.db") as db:
        known = {row[0] for row in db.execute("SELECT session_id FROM sessions")}
    assert set(created) <= known


# -- hostile and bad input ------------------------------------------------------------------------


@pytest.fixture
def hostile(tmp_path: Path) -> dict[str, str]:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    (allowed / "escape.png").symlink_to(outside)
    key = tmp_path / "id_rsa.png"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n")
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    big = tmp_path / "big.mp4"
    with open(big, "wb") as fh:
        fh.write(b"\x00\x00\x00\x18ftypmp42")
        fh.truncate(201 * 1024 * 1024)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    return {
        "allowed": str(allowed),
        "escape": str(allowed / "escape.png"),
        "key": str(key),
        "fifo": str(fifo),
        "big": str(big),
        "dir": str(allowed),
        "text": str(text),
    }


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"paths": ["{dir}"]}, "is a directory"),
        ({"paths": ["{fifo}"]}, "not a regular file"),
        ({"paths": ["/dev/zero"]}, "not a regular file"),
        ({"paths": ["{key}"]}, "content is not a image file"),
        ({"paths": ["{text}"]}, "not a supported media file"),
        ({"paths": ["{big}"]}, "200 MB"),
        ({"paths": ["{escape}"]}, "outside the directories"),
        ({"paths": ["~/.ssh/id_rsa"]}, ""),
        ({"urls": ["file:///etc/passwd"]}, "not an http(s) URL"),
        ({"urls": ["ftp://example.com/a.mp4"]}, "not an http(s) URL"),
        ({"urls": ["data:image/png;base64,AAAA"]}, "not an http(s) URL"),
        ({"urls": ["example.com/a.png"]}, "not an http(s) URL"),
        ({"urls": ["http://user:pw@example.com/a.png"]}, "credentials"),
        ({"paths": ["{big}", "{key}"], "urls": []}, ""),
    ],
)
async def test_hostile_uploads_are_refused_before_anything_is_sent(
    server: Any, emulator: Emulator, hostile: dict[str, str], args: dict[str, Any], expected: str
) -> None:
    filled = {k: [v.format(**hostile) for v in vals] for k, vals in args.items()}
    # The allowed-dirs limit applies to one case, so that the others reach their own checks.
    limits = {"NEMO_ALLOWED_DIRS": hostile["allowed"]} if "{escape}" in str(args) else {}
    async with Client(server(**limits), mode="legacy") as client:
        result = await client.call_tool("upload_media", filled)
    assert result.is_error and expected in text_of(result), text_of(result)
    assert "Traceback" not in text_of(result)
    assert not sent(emulator)


@pytest.mark.parametrize("session_id", ["a/b", "..", "../x", "a%2fb", "with space", "x" * 10_000, "id\n", "é"])
async def test_hostile_session_ids_are_refused(server: Any, emulator: Emulator, session_id: str) -> None:
    async with Client(server(), mode="legacy") as client:
        for tool in ("get_state", "send_instruction", "export_video"):
            args = {"session_id": session_id} | ({"instruction": "hi"} if tool == "send_instruction" else {})
            result = await client.call_tool(tool, args)
            assert result.is_error and ("session" in text_of(result).lower()), text_of(result)
            assert len(text_of(result)) < 400
    assert not sent(emulator, ("/api/state", *UPLOADS))


async def test_roots_confine_uploads(server: Any, emulator: Emulator, media: dict[str, Path], tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    stray = elsewhere / "stray.png"
    stray.write_bytes(media["city.png"].read_bytes())

    async def roots(context: Any) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri=media["city.png"].parent.as_uri())])

    async with Client(server(), mode="legacy", list_roots_callback=roots) as client:
        inside = await client.call_tool("upload_media", {"paths": [str(media["city.png"])]})
        outside = await client.call_tool("upload_media", {"paths": [str(stray)]})
    assert not inside.is_error and outside.is_error and "outside the directories" in text_of(outside)


async def test_instruction_and_job_limits(server: Any, emulator: Emulator) -> None:
    async with Client(server(), mode="legacy") as client:
        long = await client.call_tool("send_instruction", {"instruction": "x" * 8001})
        unknown = await client.call_tool("check_job", {"job_id": "../../etc/passwd"})
        typed = await client.call_tool("export_video", {"download": "perhaps"})
    assert long.is_error and "8000" in text_of(long)
    assert unknown.is_error and "Unknown job id" in text_of(unknown)
    assert typed.is_error and text_of(typed).startswith("Invalid arguments for export_video: `download`")
    assert not sent(emulator)


# -- secrets --------------------------------------------------------------------------------------

CANARY = "nmv_usr_CANARYc4n4ryC4N4RY0123456789"


async def test_the_token_never_shows(emulator: Emulator, tmp_path: Path, media: dict[str, Path]) -> None:
    """The whole fault matrix with a recognisable token, at debug level: nothing captured may hold it."""
    emulator.add_user_token(CANARY)
    env = {**os.environ, **fast_env(emulator.url, tmp_path), "NEMO_TOKEN": CANARY, "NEMO_LOG_LEVEL": "DEBUG"}
    captured: list[str] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        captured.append(json.dumps(params.model_dump(mode="json")))

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        captured.append(message or "")

    errlog = tmp_path / "stderr.txt"
    faults: list[tuple[str, Any]] = [
        ("rate_limit", 2),
        ("server_error", 10),
        ("reset_connection", 10),
        ("drop_stream_after", 0),
        ("fail_render", True),
        ("cut_download_after", 1000),
        ("plan_limit", True),
    ]
    with open(errlog, "w") as err:
        params = StdioServerParameters(command=sys.executable, args=["-m", "nemo_mcp"], env=env)
        async with Client(stdio_client(params, errlog=err), mode="legacy", logging_callback=on_log) as client:

            async def everything() -> None:
                calls: list[tuple[str, dict[str, Any]]] = [
                    ("get_credits", {}),
                    ("upload_media", {"paths": [str(media["city.png"])]}),
                    ("send_instruction", {"instruction": "make a slideshow"}),
                    ("get_state", {}),
                    ("export_video", {}),
                    ("check_job", {"job_id": "nope"}),
                ]
                for tool, args in calls:
                    result = await client.call_tool(tool, args, progress_callback=on_progress)
                    captured.append(result.model_dump_json())

            await everything()
            for name, value in faults:
                emulator.reset_faults()
                setattr(emulator.faults, name, value)
                await everything()
            emulator.reset_faults()
            emulator.expire_tokens()
            await everything()
            # The refused token, through a resource read: an error that names the variable, not the token.
            with pytest.raises(Exception, match="NEMO_TOKEN"):
                await client.read_resource("nemo://credits")
    captured.append(errlog.read_text())
    blob = "\n".join(captured)
    assert "Your NEMO_TOKEN was refused" in blob  # the matrix really ran into the refusal
    assert CANARY not in blob and CANARY[8:] not in blob


async def test_no_object_shows_a_token_in_its_repr(settings_for: Any) -> None:
    settings = settings_for(NEMO_TOKEN=CANARY)
    async with NemoClient(settings) as client:
        cached = client.store
        shown = " ".join(repr(x) for x in (settings, client, client.tokens, cached))
    assert CANARY not in shown


async def test_state_file_and_dir_are_private(tmp_path: Path) -> None:
    from nemo_mcp.cloud.store import CachedToken, StateStore

    store = StateStore(tmp_path / "state", "scope")
    await store.save_token(CachedToken(CANARY, "anon_1", 4e9))
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    for name in ("state.db", "state.db-wal"):
        assert stat.S_IMODE((tmp_path / "state" / name).stat().st_mode) == 0o600
    assert CANARY not in repr(await store.cached_token())
    store.close()


# -- cancellation and crashes ---------------------------------------------------------------------


@pytest.mark.parametrize("phase", ["stream", "poll", "upload", "download"])
async def test_cancelling_stops_the_work_within_a_second(
    server: Any, emulator: Emulator, media: dict[str, Path], phase: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    async with Client(server(), mode="legacy") as client:
        sid = await timeline(client, media)
        tool, args = {
            "stream": ("send_instruction", {"instruction": "add the title 'Never'"}),
            "poll": ("export_video", {}),
            "upload": ("upload_media", {"paths": [str(media["music.wav"])]}),
            "download": ("export_video", {}),
        }[phase]
        emulator.faults.heartbeats, emulator.faults.heartbeat_interval = 10_000, 0.05
        emulator.faults.render_seconds = 3600 if phase == "poll" else 0
        emulator.faults.upload_delay = 3600 if phase == "upload" else 0
        emulator.faults.render_size_bytes = 5_000_000
        emulator.faults.slow_download = 0.05
        part_seen = anyio.Event()

        async def watch_parts() -> None:
            while not any(out.glob(".nemo-*.part")) if out.exists() else True:
                await anyio.sleep(0.01)
            part_seen.set()

        with anyio.move_on_after(0.6 if phase != "download" else 30) as scope:
            async with anyio.create_task_group() as tg:
                if phase == "download":
                    tg.start_soon(watch_parts)

                    async def cancel_when_downloading() -> None:
                        await part_seen.wait()
                        scope.cancel()

                    tg.start_soon(cancel_when_downloading)
                await client.call_tool(tool, args)
        assert scope.cancelled_caught
        cancelled_at = anyio.current_time()
        # Seen from outside: the render is cancelled on the API, the part file is gone, or the
        # project's lock (held by a stream or an upload for its whole length) is free again.
        with anyio.fail_after(5):
            if phase == "poll":
                while not any(r.cancelled for r in emulator.renders.values()):
                    await anyio.sleep(0.01)
            elif phase == "download":
                while any(out.iterdir()):
                    await anyio.sleep(0.01)
            else:
                emulator.reset_faults()
                assert not (
                    await client.call_tool("send_instruction", {"instruction": "add the title 'After'"})
                ).is_error
        assert anyio.current_time() - cancelled_at < 1.0
        assert not out.exists() or not any(out.iterdir())  # no temp file, no partial video
        emulator.reset_faults()
        state = await client.call_tool("get_state", {})
        assert not state.is_error and state.structured_content["session_id"] == sid


def _raw_server(env: dict[str, str], stderr: Any) -> subprocess.Popen[bytes]:
    """A stdio server we hold the process of, spoken to in raw JSON-RPC, started on an export."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "nemo_mcp"], env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr
    )
    assert proc.stdin is not None
    hello = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    for message in (
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "export_video", "arguments": {}}},
    ):
        proc.stdin.write((json.dumps(message) + "\n").encode())
    proc.stdin.flush()
    return proc


async def test_killed_during_download_leaves_no_partial_file(
    emulator: Emulator, tmp_path: Path, media: dict[str, Path]
) -> None:
    env = {**os.environ, **fast_env(emulator.url, tmp_path)}
    out = tmp_path / "out"
    params = StdioServerParameters(command=sys.executable, args=["-m", "nemo_mcp"], env=env)
    async with Client(params, mode="legacy") as client:
        sid = await timeline(client, media)
    emulator.faults.render_size_bytes = 5_000_000
    emulator.faults.slow_download = 0.05
    proc = _raw_server(env, subprocess.DEVNULL)  # raw JSON-RPC, so that it can be SIGKILLed
    with anyio.fail_after(30):
        while not list(out.glob(".nemo-*.part")):
            await anyio.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert [p for p in out.iterdir() if not p.name.startswith(".nemo-")] == []  # nothing under a real name
    emulator.reset_faults()
    async with Client(params, mode="legacy") as client:
        state = await client.call_tool("get_state", {})
        assert state.structured_content["session_id"] == sid  # the current project survived
        exported = await client.call_tool("export_video", {})
        assert not exported.is_error and Path(exported.structured_content["path"]).is_file()
    assert emulator.token_requests == 1  # and so did the token


async def test_a_job_stopped_by_shutdown_says_so_to_a_call_still_waiting() -> None:
    """The server's lifespan cancels the jobs' task group; a tool call waiting on a job may be
    woken by the job ending before its own cancellation arrives. It must find an error to relay
    (it found neither result nor error, and crashed with a traceback in the log, one CI run in a few)."""
    from nemo_mcp.core.jobs import Jobs
    from nemo_mcp.errors import NemoError

    started = anyio.Event()

    async def forever(job: Any) -> None:
        started.set()
        await anyio.sleep_forever()

    heard: list[Any] = []

    async def send(update: Any) -> None:
        heard.append(update)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as caller, anyio.create_task_group() as server_jobs:
            job = Jobs(server_jobs).start("export", "s1", forever)
            caller.start_soon(job.wait, 60.0, 0, send)
            await started.wait()
            server_jobs.cancel_scope.cancel()
    assert job.done and job.result is None
    assert isinstance(job.error, NemoError) and "shutting down" in str(job.error), job.error


async def test_disk_full_mid_download_leaves_nothing(
    emulator: Emulator, tmp_path: Path, media: dict[str, Path]
) -> None:
    """A server whose files may not grow past 1 MB: the 5 MB video fails to write half-way."""
    env = {**os.environ, **fast_env(emulator.url, tmp_path)}
    limited = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20)); "
        "from nemo_mcp.cli import main; sys.exit(main())"
    )
    params = StdioServerParameters(command=sys.executable, args=["-c", limited], env=env)
    async with Client(params, mode="legacy") as client:
        await timeline(client, media)
        emulator.faults.render_size_bytes = 5_000_000
        full = await client.call_tool("export_video", {})
        emulator.faults.render_size_bytes = 500_000
        fits = await client.call_tool("export_video", {})
    assert full.is_error and "Could not write the video to disk" in text_of(full), text_of(full)
    out = tmp_path / "out"
    assert [p.name for p in out.iterdir()] == [Path(fits.structured_content["path"]).name]


@pytest.mark.parametrize("stop", ["sigterm", "stdin closed"])
async def test_shutting_down_cancels_jobs_and_removes_partial_files(
    emulator: Emulator, tmp_path: Path, media: dict[str, Path], stop: str
) -> None:
    env = {**os.environ, **fast_env(emulator.url, tmp_path)}  # type: ignore[attr-defined]
    out = tmp_path / "out"
    params = StdioServerParameters(command=sys.executable, args=["-m", "nemo_mcp"], env=env)
    async with Client(params, mode="legacy") as client:
        await timeline(client, media)
    if stop == "sigterm":  # mid-download: the part file must go
        emulator.faults.render_size_bytes = 5_000_000
        emulator.faults.slow_download = 0.05
    else:  # mid-render, in a job that outlived its call: the render must be cancelled on the API
        emulator.faults.render_seconds = 3600
        env["NEMO_TOOL_WAIT_SECONDS"] = "0.1"
    errlog = tmp_path / "stderr.txt"
    with open(errlog, "w") as err:
        proc = _raw_server(env, err)
        with anyio.fail_after(30):
            while not (list(out.glob(".nemo-*.part")) if stop == "sigterm" else emulator.renders):
                await anyio.sleep(0.02)
        started = anyio.current_time()
        if stop == "sigterm":
            proc.send_signal(signal.SIGTERM)
        else:
            proc.stdin.close()
        assert proc.wait(15) == 0
    assert anyio.current_time() - started < 10
    assert not out.exists() or list(out.iterdir()) == []  # no part file, and no video under a real name
    if stop != "sigterm":
        assert all(r.cancelled for r in emulator.renders.values())
    logged = errlog.read_text()
    assert "Traceback" not in logged, logged
