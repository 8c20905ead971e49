"""The API client against the emulator, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from nemo_mcp import errors
from nemo_mcp.cloud import api
from nemo_mcp.cloud.client import NemoClient
from nemo_mcp.cloud.transfer import place_file
from nemo_mcp.config import load_settings
from nemo_mcp.core.admission import check_file
from nemo_mcp.core.workflow import Workflow, silent
from nemo_mcp.errors import SessionReset
from nemo_mcp.results import ExportResult, InstructionResult, UploadResult
from nemo_mcp.testing import Emulator

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(settings_for: Any) -> Any:
    async with NemoClient(settings_for(), platform="pytest") as c:
        yield c


class Actions(Workflow):
    """The workflow, with each tool's steps (admit, resolve the project, act) in one call."""

    def __init__(self, client: NemoClient) -> None:
        super().__init__(client, client.store)

    async def upload(self, paths: list[str], urls: list[str]) -> UploadResult:
        plan = self.admit_upload(paths, urls, None)
        return await self.upload_media(plan, await self.resolve_session(None))

    async def say(self, text: str, report: Any = silent) -> InstructionResult:
        return await self.send_instruction(self.check_instruction(text), await self.resolve_session(None), report)

    async def export(self, download: bool = True, report: Any = silent) -> ExportResult:
        return await self.export_video(await self.resolve_session(None), "high", download, report)


@pytest.fixture
async def actions(client: NemoClient) -> Actions:
    return Actions(client)


def paths_of(emulator: Emulator, prefix: str) -> list[str]:
    return [r.path for r in emulator.requests if r.path.startswith(prefix)]


# -- tokens ---------------------------------------------------------------------------------------


async def test_anonymous_token_is_requested_once_and_cached_across_restarts(
    emulator: Emulator, settings_for: Any
) -> None:
    async with NemoClient(settings_for()) as first:
        await first.credits()
        await first.credits()
    async with NemoClient(settings_for()) as second:
        await second.credits()
    assert emulator.token_requests == 1
    token_calls = [r for r in emulator.requests if r.path == api.ANONYMOUS_TOKEN]
    assert len(token_calls) == 1 and token_calls[0].headers["x-client-id"]
    state_file = Path(settings_for().state_dir) / "state.db"
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(state_file.parent.stat().st_mode) == 0o700


async def test_every_request_carries_attribution_headers(emulator: Emulator, client: NemoClient) -> None:
    await client.credits()
    record = [r for r in emulator.requests if r.path == api.CREDITS][-1]
    assert record.headers["authorization"].startswith("Bearer nmv_usr_")
    assert record.headers["x-skill-source"] == "ai-animations"
    assert record.headers["x-skill-platform"] == "pytest"
    from nemo_mcp import __version__

    assert record.headers["x-skill-version"] == __version__


async def test_expired_anonymous_token_is_renewed_silently(emulator: Emulator, client: NemoClient) -> None:
    await client.credits()
    emulator.expire_tokens()
    credits = await client.credits()
    assert credits.available == 100
    assert emulator.token_requests == 2


async def test_user_token_is_used_and_never_replaced(emulator: Emulator, settings_for: Any) -> None:
    emulator.add_user_token("nmv_usr_mine", credits=42)
    async with NemoClient(settings_for(NEMO_TOKEN="nmv_usr_mine")) as c:
        assert (await c.credits()).available == 42
        emulator.expire_tokens()
        with pytest.raises(errors.InvalidUserToken, match="NEMO_TOKEN"):
            await c.credits()
    assert emulator.token_requests == 0


async def test_token_endpoint_rate_limit_suggests_nemo_token(emulator: Emulator, client: NemoClient) -> None:
    emulator.faults.rate_limit = 2
    emulator.faults.rate_limit_path = api.ANONYMOUS_TOKEN
    with pytest.raises(errors.RateLimited, match="NEMO_TOKEN"):
        await client.credits()


async def test_refused_client_id_is_replaced_once(emulator: Emulator, settings_for: Any) -> None:
    emulator.faults.refuse_client_id_once = True
    async with NemoClient(settings_for()) as c:
        assert (await c.credits()).available == 100
    calls = [r.headers["x-client-id"] for r in emulator.requests if r.path == api.ANONYMOUS_TOKEN]
    assert len(calls) == 2 and calls[0] != calls[1]  # a new client id, sent once more
    assert saved_client_id(settings_for().state_dir) == calls[1]


def saved_client_id(state_dir: Path) -> str:
    with sqlite3.connect(state_dir / "state.db") as db:
        return str(db.execute("SELECT value FROM settings WHERE key = 'client_id'").fetchone()[0])


async def test_corrupt_state_file_is_replaced(emulator: Emulator, settings_for: Any) -> None:
    settings = settings_for()
    settings.state_dir.mkdir(parents=True)
    (settings.state_dir / "state.db").write_text("{not a database")
    async with NemoClient(settings) as c:
        await c.credits()
        assert any("could not be read" in w for w in c.store.warnings)
    assert saved_client_id(settings.state_dir)
    assert [p.name for p in settings.state_dir.glob("state.db.corrupt-*")]


async def test_state_of_earlier_versions_is_imported_once(emulator: Emulator, settings_for: Any) -> None:
    settings = settings_for()
    settings.state_dir.mkdir(parents=True)
    scope = settings.api_base
    legacy = {"client_id": "c-legacy", "scopes": {scope: {"sessions": [{"session_id": "s1"}], "current_session": "s1"}}}
    (settings.state_dir / "state.json").write_text(json.dumps(legacy))
    async with NemoClient(settings) as c:
        assert await c.store.current_session() == "s1"
        assert [s.session_id for s in await c.store.sessions()] == ["s1"]
    assert saved_client_id(settings.state_dir) == "c-legacy"
    assert (settings.state_dir / "state.json.migrated").exists() and not (settings.state_dir / "state.json").exists()


async def test_unwritable_state_dir_still_works(emulator: Emulator, settings_for: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    async with NemoClient(settings_for(NEMO_STATE_DIR=str(blocker / "state"))) as c:
        assert (await c.credits()).available == 100
        assert c.store.warnings


# -- retries --------------------------------------------------------------------------------------


async def test_429_once_waits_and_retries(emulator: Emulator, client: NemoClient) -> None:
    await client.credits()
    emulator.faults.rate_limit = 1
    assert (await client.credits()).total == 100
    assert len(paths_of(emulator, api.CREDITS)) == 3


async def test_429_twice_is_a_clear_error(emulator: Emulator, client: NemoClient) -> None:
    await client.credits()
    emulator.faults.rate_limit = 2
    with pytest.raises(errors.RateLimited, match="try again in a minute"):
        await client.credits()


@pytest.mark.parametrize("fault", ["server_error", "reset_connection"])
async def test_reads_retry_through_5xx_and_resets(emulator: Emulator, client: NemoClient, fault: str) -> None:
    await client.credits()
    setattr(emulator.faults, fault, 2)
    assert (await client.credits()).available == 100


async def test_reads_give_up_after_bounded_retries(emulator: Emulator, client: NemoClient) -> None:
    await client.credits()
    emulator.faults.server_error = 50
    with pytest.raises(errors.ServiceUnavailable):
        await client.credits()
    assert len(paths_of(emulator, api.CREDITS)) == 1 + 1 + client.settings.read_retries


async def test_posts_that_may_have_landed_are_not_retried(emulator: Emulator, client: NemoClient) -> None:
    session = await client.create_session()
    emulator.faults.server_error = 1
    emulator.faults.server_error_path = api.RUN_SSE
    with pytest.raises(errors.ServiceUnavailable):
        async with client.instruction_stream(session.session_id, "make a slideshow") as events:
            async for _ in events:
                pass
    assert len(paths_of(emulator, api.RUN_SSE)) == 1


# -- sessions, state, credits ----------------------------------------------------------------------


async def test_session_state_and_1002(emulator: Emulator, client: NemoClient) -> None:
    session = await client.create_session("ja")
    assert emulator.sessions[session.session_id].language == "ja"
    state = await client.state(session.session_id)
    assert state.raw_draft is not None and json.loads(state.raw_draft) == state.draft
    emulator.lose_session(session.session_id)
    with pytest.raises(errors.SessionNotFound):
        await client.state(session.session_id)


async def test_lost_session_is_replaced_and_reported(emulator: Emulator, actions: Actions, media: Any) -> None:
    first = await actions.resolve_session(None)
    emulator.lose_session(first)
    with pytest.raises(SessionReset) as caught:
        await actions.upload([str(media["city.png"])], [])
    fresh = caught.value.new_session_id
    assert fresh != first and fresh in caught.value.message and "upload the media again" in caught.value.message
    assert await actions.resolve_session(None) == fresh
    result = await actions.upload([str(media["city.png"])], [])
    assert result.session_id == fresh


async def test_out_of_credits_carries_registration_link(emulator: Emulator, actions: Actions) -> None:
    sid = await actions.resolve_session(None)
    user = emulator.sessions[sid].user_id
    emulator.set_credits(user, 0)
    with pytest.raises(errors.OutOfCredits) as caught:
        await actions.say("make a slideshow")
    assert caught.value.register_url == f"https://nemovideo.com/register?bind={user}"
    assert caught.value.register_url in str(caught.value)
    credits = await actions.get_credits()
    assert credits.available == 0 and credits.account == "anonymous"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, {"code": 1001, "message": "expired"}, errors.TokenExpired),
        (200, {"code": 1002, "msg": "no session"}, errors.SessionNotFound),
        (200, {"code": 2001}, errors.OutOfCredits),
        (200, {"code": "4001"}, errors.UnsupportedFile),
        (413, {"code": 4002}, errors.FileTooLarge),
        (400, {"success": False, "error": "missing X-Client-Id"}, errors.MissingClientId),
        (402, {}, errors.PlanLimit),
        (429, {}, errors.RateLimited),
        (503, {}, errors.ServiceUnavailable),
        (200, {"success": False, "error": "boom"}, errors.ApiError),
        (418, {"message": "teapot"}, errors.ApiError),
    ],
)
def test_every_documented_code_maps_to_its_error(status: int, body: dict[str, Any], expected: type) -> None:
    error = api.error_for(status, body)
    assert type(error) is expected
    assert error is not None and error.message.endswith((".", ")")) and len(error.message) > 20
    assert api.error_for(200, {"code": 0, "data": {}}) is None and api.error_for(200, {"x": 1}) is None
    # Codes that only look numeric are not numbers (int("--1") would raise).
    assert isinstance(api.error_for(400, {"code": "--1", "message": "odd"}), errors.ApiError)
    assert api.error_for(200, {"code": "٣"}) is None  # not a code at all: the answer stands


# -- uploads --------------------------------------------------------------------------------------


async def test_upload_files_and_urls(emulator: Emulator, client: NemoClient, media: Any) -> None:
    session = await client.create_session()
    files = [check_file(str(media[n])) for n in ("city.png", "music.wav")]
    seen: list[tuple[int, int | None]] = []
    uploaded = await client.upload_files(session.session_id, files, lambda d, t: seen.append((d, t)))
    assert [(u.filename, u.kind) for u in uploaded] == [("city.png", "image"), ("music.wav", "audio")]
    assert seen and seen[-1] == (sum(f.size for f in files), sum(f.size for f in files))
    by_url = await client.upload_urls(session.session_id, [uploaded[0].url or ""])
    assert by_url[0].kind == "image"
    assert len(emulator.sessions[session.session_id].uploads) == 3


async def test_api_refusals_of_uploads_carry_the_api_reason(emulator: Emulator, client: NemoClient) -> None:
    session = await client.create_session()
    with pytest.raises(errors.ApiError, match="Could not fetch"):
        await client.upload_urls(session.session_id, [f"{emulator.url}/media/none/gone.png"])


# -- instructions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["adk", "typed"])
async def test_instruction_streams_reply_once_in_both_forms(
    emulator: Emulator, actions: Actions, media: Any, form: str
) -> None:
    emulator.faults.sse_form = form  # type: ignore[assignment]
    emulator.faults.heartbeats = 3
    await actions.upload([str(media["city.png"]), str(media["music.wav"])], [])
    messages: list[str] = []
    result = await actions.say(
        "add the title 'Urban Dreams'", report=lambda m=None, p=None, t=None: messages.append(m or "")
    )
    assert result.reply and result.reply.count("Export") <= 1
    streamed = "".join(m for m in messages if m and not m.startswith(("Running", "Finished", "Still", "Send")))
    assert streamed == result.reply  # partial chunks, with the final repeat not shown twice
    assert any(m.startswith("Running ") for m in messages)
    assert any(m.startswith("Still working") for m in messages)
    assert result.timeline_changed and any("Urban Dreams" in c for c in result.changes)
    assert '"Urban Dreams"' in result.timeline


async def test_textless_stream_is_explained_by_the_diff(emulator: Emulator, actions: Actions, media: Any) -> None:
    emulator.faults.textless = True
    await actions.upload([str(media["city.png"])], [])
    result = await actions.say("make a slideshow")
    assert result.reply.startswith("The timeline was updated: ")
    assert result.changes and result.timeline_changed


@pytest.mark.parametrize("applied", [True, False])
async def test_dropped_stream_reads_the_state_instead_of_resending(
    emulator: Emulator, actions: Actions, media: Any, applied: bool
) -> None:
    await actions.upload([str(media["city.png"])], [])
    # Dropped before the first event: the edit lands only if the agent works on server-side.
    emulator.faults.drop_stream_after = 0
    emulator.faults.drop_applies_edit = applied
    if applied:
        result = await actions.say("add the title 'Late'")
        assert result.timeline_changed and result.note and "dropped" in result.note
        assert any("Late" in c for c in result.changes)
    else:
        with pytest.raises(errors.StreamDropped, match="not applied"):
            await actions.say("add the title 'Late'")
    assert len(paths_of(emulator, api.RUN_SSE)) == 1


async def test_instruction_limits(actions: Actions) -> None:
    with pytest.raises(errors.InvalidInput, match="empty"):
        await actions.say("   ")
    with pytest.raises(errors.InvalidInput, match="8000"):
        await actions.say("x" * 8001)


# -- export ---------------------------------------------------------------------------------------


async def _timeline(actions: Actions, media: Any) -> str:
    await actions.upload([str(media["city.png"]), str(media["park.png"])], [])
    await actions.say("make a slideshow titled 'Trip'")
    return await actions.resolve_session(None)


@pytest.mark.parametrize("shape", [1, 2, 3])
async def test_export_downloads_into_output_dir_in_every_status_shape(
    emulator: Emulator, actions: Actions, media: Any, shape: int
) -> None:
    sid = await _timeline(actions, media)
    emulator.faults.export_shape = shape  # type: ignore[assignment]
    emulator.faults.render_seconds = 0.1
    emulator.faults.render_size_bytes = 300_000
    statuses: list[tuple[str | None, float | None, float | None]] = []
    result = await actions.export(report=lambda m=None, p=None, t=None: statuses.append((m, p, t)))
    assert result.render_status == "completed" and result.path
    path = Path(result.path)
    assert path.parent == actions.settings.output_dir and path.stat().st_size == 300_000
    assert path.name == f"Trip-{result.render_id}.mp4"  # named after the video's title
    assert result.size_bytes == 300_000
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left
    assert any(m and m.startswith("Rendering") for m, _, _ in statuses)
    # The draft went back byte for byte as the state answer held it.
    state = await actions.client.state(sid)
    assert emulator.renders[result.render_id or ""].draft_text == state.raw_draft


async def test_duplicate_render_id_gets_a_new_id(emulator: Emulator, actions: Actions, media: Any) -> None:
    await _timeline(actions, media)
    emulator.faults.duplicate_render_id_once = True
    result = await actions.export(download=False)
    assert result.render_status == "completed" and result.path is None
    assert len(paths_of(emulator, api.RENDER)) >= 3  # refused submit, resubmit, status polls


async def test_failed_render_names_the_render(emulator: Emulator, actions: Actions, media: Any) -> None:
    await _timeline(actions, media)
    emulator.faults.fail_render = True
    with pytest.raises(errors.RenderFailed) as caught:
        await actions.export()
    assert caught.value.render_id and caught.value.render_id in str(caught.value)


async def test_stuck_render_times_out_and_is_cancelled(emulator: Emulator, settings_for: Any, media: Any) -> None:
    emulator.faults.render_seconds = 3600
    async with NemoClient(settings_for(NEMO_RENDER_TIMEOUT_SECONDS="0.3")) as c:
        actions = Actions(c)
        await _timeline(actions, media)
        with pytest.raises(errors.RenderTimeout, match="stuck"):
            await actions.export()
    assert any(r.cancelled for r in emulator.renders.values())


async def test_plan_limit_402(emulator: Emulator, actions: Actions, media: Any) -> None:
    await _timeline(actions, media)
    emulator.faults.plan_limit = True
    with pytest.raises(errors.PlanLimit, match="not a lack of credits"):
        await actions.export()


async def test_empty_timeline_is_not_exported(emulator: Emulator, actions: Actions) -> None:
    with pytest.raises(errors.NotExportable):
        await actions.export()
    assert not paths_of(emulator, api.RENDER)


async def test_cut_download_leaves_no_file_and_retry_succeeds(emulator: Emulator, actions: Actions, media: Any) -> None:
    await _timeline(actions, media)
    emulator.faults.cut_download_after = 100_000
    with pytest.raises(errors.DownloadFailed, match="no file was kept"):
        await actions.export()
    out = actions.settings.output_dir
    assert not out.exists() or list(out.iterdir()) == []
    emulator.faults.cut_download_after = None
    result = await actions.export()
    assert result.path and Path(result.path).stat().st_size == emulator.faults.render_size_bytes


def test_placed_files_never_overwrite_or_escape(tmp_path: Path) -> None:
    (tmp_path / "video.mp4").write_text("mine")
    for name in ("video.mp4", "../../etc/passwd", ".hidden.mp4"):
        tmp = tmp_path / ".nemo-x.part"
        tmp.write_text("new")
        placed = place_file(tmp, tmp_path, name)
        assert placed.parent == tmp_path and not placed.name.startswith(".")
        tmp.unlink()
    assert (tmp_path / "video.mp4").read_text() == "mine"
    assert (tmp_path / "video (2).mp4").read_text() == "new"


# -- config ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NEMO_RENDER_POLL_SECONDS", "soon"),
        ("NEMO_RATE_LIMIT_WAIT_SECONDS", "-1"),
        ("NEMO_SSE_TIMEOUT_SECONDS", "nan"),
        ("NEMO_API_BASE", "ftp://x"),
        ("NEMO_BACKEND", "mars"),
    ],
)
def test_bad_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(errors.ConfigError, match=name):
        load_settings({name: value})


def test_settings_never_show_the_token() -> None:
    settings = load_settings({"NEMO_TOKEN": "nmv_usr_secret"})
    assert "secret" not in repr(settings) and settings.token == "nmv_usr_secret"


# -- memory ---------------------------------------------------------------------------------------


def test_200mb_upload_streams_with_flat_memory(emulator: Emulator, tmp_path: Path) -> None:
    """A sparse 200 MB file uploads while the client's peak RSS grows far less than its size."""
    big = tmp_path / "big.mp4"
    with open(big, "wb") as fh:
        fh.write(b"\x00\x00\x00\x18ftypmp42")
        fh.truncate(200_000_000)
    script = textwrap.dedent(
        f"""
        import anyio, json, resource
        from nemo_mcp.cloud.client import NemoClient
        from nemo_mcp.config import load_settings
        from nemo_mcp.core.admission import check_file

        async def main():
            env = {json.dumps({"NEMO_API_BASE": emulator.url, "NEMO_STATE_DIR": str(tmp_path / "s")})}
            async with NemoClient(load_settings(env)) as c:
                sid = (await c.create_session()).session_id
                before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                files = await c.upload_files(sid, [check_file({str(big)!r})])
                after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                print(json.dumps({{"growth_kb": after - before, "kind": files[0].kind}}))

        anyio.run(main)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["kind"] == "video"
    assert report["growth_kb"] < 50 * 1024, report  # 200 MB sent; far less than that held
    stored = next((emulator.data_dir / "media").rglob("*.mp4"))
    assert stored.stat().st_size == 200_000_000
    os.unlink(stored)
