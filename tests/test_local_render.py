"""The local ffmpeg renderer, end to end with the real ffmpeg: its files are checked by decoding them."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.renderkit import BASE, Picture, Streams, draft_of, ff, frame_at, level_db, seg

from nemo_mcp.local.editor import EditRequest, LocalEditor
from nemo_mcp.local.render import (
    FONT_FILE,
    FfmpegRenderer,
    RenderError,
    escape_value,
    plan_from_draft,
    summarize_stderr,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("render-media")
    files = {
        "dark.png": ["-f", "lavfi", "-i", "color=c=0x202020:s=320x240", "-frames:v", "1"],
        "pattern.png": ["-f", "lavfi", "-i", "testsrc2=s=320x240", "-frames:v", "1"],
        "clip.mp4": [
            "-f", "lavfi", "-i", "testsrc2=s=160x120:r=30",
            "-f", "lavfi", "-i", "sine=f=660:sample_rate=48000", "-t", "2",
            "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
        ],
        "music.wav": ["-f", "lavfi", "-i", "sine=f=220:sample_rate=48000", "-t", "3"],
    }  # fmt: skip
    out = {}
    for name, args in files.items():
        done = ff("-v", "error", "-y", *args, str(folder / name))
        assert done.returncode == 0, done.stderr
        out[name] = folder / name
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    out["broken.mp4"] = folder / "broken.mp4"
    return out


@pytest.fixture
def resolve(media: dict[str, Path]) -> Callable[[str], Path | None]:
    def resolve(url: str) -> Path | None:
        return media.get(url.removeprefix(BASE)) if url.startswith(BASE) else None

    return resolve


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def bright_pixels_in_middle_band(picture: Picture) -> int:
    return picture.count(0.4, 0.6, lambda r, g, b: min(r, g, b) > 200)


async def render(renderer: FfmpegRenderer, draft: dict[str, Any], out: Path) -> list[float]:
    progress: list[float] = []
    await renderer.render(draft, out, progress.append)
    return progress


@pytest.mark.anyio
async def test_render_matches_the_draft_with_title_crossfade_music_and_progress(
    resolve: Callable[[str], Path | None], tmp_path: Path
) -> None:
    title = "It's 100%: a\\b, [ok]; “q” {x}"
    draft = draft_of(
        [seg("v1", "dark.png", 0, 3000, fx="zoom"), seg("v2", "clip.mp4", 2500, 1500)],
        music=[seg("a1", "music.wav", 0, 4000, v=0.5)],
        titles=[{"id": "x1", "st": 0, "d": 1500, "tx": title}],
    )
    out = tmp_path / "out" / "video.mp4"
    progress = await render(FfmpegRenderer(resolve), draft, out)

    streams = Streams(out)
    assert streams.is_mp4
    assert streams.info.duration_s == pytest.approx(4.0, abs=0.05)
    assert (streams.info.width, streams.info.height) == (360, 640)
    assert (streams.video_codec, streams.pix_fmt) == ("h264", "yuv420p")
    assert streams.audio_codec == "aac"
    # the title shows over the dark image during its segment and is gone after it
    assert bright_pixels_in_middle_band(frame_at(out, 0.7, 360, 640)) > 300
    assert bright_pixels_in_middle_band(frame_at(out, 2.0, 360, 640)) == 0
    # progress rises and ends at 100
    assert progress[-1] == 100.0
    assert progress == sorted(progress) and len(set(progress)) >= 2
    assert files_in(out.parent) == [out.name]  # no partial file left beside it


@pytest.mark.anyio
async def test_full_size_portrait_without_audio_gets_silent_aac(
    resolve: Callable[[str], Path | None], tmp_path: Path
) -> None:
    draft = draft_of([seg("v1", "pattern.png", 0, 1000, fx="zoom")], width=1080, height=1920)
    out = tmp_path / "big.mp4"
    await render(FfmpegRenderer(resolve), draft, out)
    streams = Streams(out)
    assert (streams.info.width, streams.info.height) == (1080, 1920)
    assert streams.info.duration_s == pytest.approx(1.0, abs=0.05)
    assert streams.audio_codec == "aac" and streams.info.has_audio


@pytest.mark.anyio
async def test_music_level_follows_the_volume(resolve: Callable[[str], Path | None], tmp_path: Path) -> None:
    levels = {}
    for volume in (1.0, 0.25):
        # No video track at all: the renderer puts the music over a black background.
        draft = draft_of([], music=[seg("a1", "music.wav", 0, 2000, v=volume)], width=64, height=64)
        out = tmp_path / f"music-{volume}.mp4"
        await render(FfmpegRenderer(resolve), draft, out)
        assert Streams(out).info.duration_s == pytest.approx(2.0, abs=0.05)
        levels[volume] = level_db(out)
    assert levels[1.0] - levels[0.25] == pytest.approx(12.04, abs=0.6)  # 20*log10(4)


@pytest.mark.anyio
async def test_butted_segments_and_gaps_keep_the_timeline_length(
    resolve: Callable[[str], Path | None], tmp_path: Path
) -> None:
    draft = draft_of(
        [
            seg("v1", "pattern.png", 0, 500),
            seg("v2", "dark.png", 1000, 500),  # after a 0.5 s gap
            seg("v3", "clip.mp4", 1500, 3000, ss=500),  # butted; the 2 s clip from 0.5 s runs out: held
        ],
        width=64,
        height=96,
    )
    out = tmp_path / "butted.mp4"
    await render(FfmpegRenderer(resolve), draft, out)
    streams = Streams(out)
    assert streams.info.duration_s == pytest.approx(4.5, abs=0.05)
    assert (streams.info.width, streams.info.height) == (64, 96)
    gap = frame_at(out, 0.75, 64, 96)
    assert max(gap.rgb) < 40  # black between the first two segments


@pytest.mark.anyio
async def test_cancel_kills_ffmpeg_and_leaves_no_file(resolve: Callable[[str], Path | None], tmp_path: Path) -> None:
    """Cancelled through an anyio cancel scope, as a task group would."""
    # Long enough that it cannot finish before the cancel: 60 s at full size.
    draft = draft_of([seg("v1", "pattern.png", 0, 60_000, fx="zoom")], width=1080, height=1920)
    out = tmp_path / "cancelled.mp4"
    started = anyio.Event()
    progress: list[float] = []

    def on_progress(value: float) -> None:
        progress.append(value)
        if value > 0:
            started.set()

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(FfmpegRenderer(resolve).render, draft, out, on_progress)
            await started.wait()
            assert _ffmpeg_writing(tmp_path), "ffmpeg should be running while progress is reported"
            tg.cancel_scope.cancel()
    assert progress[-1] < 100
    assert files_in(tmp_path) == []
    assert not _ffmpeg_writing(tmp_path)


@pytest.mark.anyio
async def test_asyncio_task_cancel_kills_ffmpeg(resolve: Callable[[str], Path | None], tmp_path: Path) -> None:
    """Cancelled with Task.cancel(), as a cancelled render task is."""
    draft = draft_of([seg("v1", "pattern.png", 0, 60_000, fx="zoom")], width=1080, height=1920)
    started = asyncio.Event()
    task = asyncio.create_task(
        FfmpegRenderer(resolve).render(draft, tmp_path / "c.mp4", lambda p: p > 0 and started.set())
    )
    with anyio.fail_after(30):
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert files_in(tmp_path) == []
    assert not _ffmpeg_writing(tmp_path)


def _ffmpeg_writing(folder: Path) -> bool:
    """Whether a live (non-zombie) process has ``folder`` in its command line."""
    proc = Path("/proc")
    if not proc.is_dir():
        pytest.skip("needs /proc to look for the ffmpeg process")
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(folder).encode() in cmdline and state != "Z":
            return True
    return False


@pytest.mark.anyio
async def test_unresolvable_media_names_the_segment(resolve: Callable[[str], Path | None], tmp_path: Path) -> None:
    draft = draft_of([seg("v1", "dark.png", 0, 1000), {**seg("v7", "dark.png", 1000, 1000), "src": BASE + "gone.png"}])
    with pytest.raises(RenderError, match=r"v7") as caught:
        await FfmpegRenderer(resolve).render(draft, tmp_path / "x.mp4", lambda _p: None)
    assert "gone.png" in str(caught.value)
    assert files_in(tmp_path) == []


@pytest.mark.anyio
async def test_broken_input_is_a_render_error(resolve: Callable[[str], Path | None], tmp_path: Path) -> None:
    draft = draft_of([seg("v1", "broken.mp4", 0, 1000)])
    with anyio.fail_after(30), pytest.raises(RenderError, match=r"v1 \(broken\.mp4\)"):
        await FfmpegRenderer(resolve).render(draft, tmp_path / "x.mp4", lambda _p: None)
    assert files_in(tmp_path) == []


@pytest.mark.anyio
async def test_ffmpeg_failure_reports_the_last_stderr_lines(
    resolve: Callable[[str], Path | None], tmp_path: Path
) -> None:
    draft = draft_of([seg("v1", "dark.png", 0, 1000)], titles=[{"id": "x1", "st": 0, "d": 1000, "tx": "Hi"}])
    renderer = FfmpegRenderer(resolve, preset="no-such-preset")  # x264 refuses it once ffmpeg runs
    out = tmp_path / "out.mp4"
    with anyio.fail_after(30), pytest.raises(RenderError) as caught:
        await renderer.render(draft, out, lambda _p: None)
    message = str(caught.value)
    assert message.startswith("ffmpeg could not render the video: ")
    assert "0x" not in message and len(message) < 600
    assert files_in(tmp_path) == []


@pytest.mark.anyio
async def test_renders_what_the_local_editor_writes(
    media: dict[str, Path], resolve: Callable[[str], Path | None], tmp_path: Path
) -> None:
    uploads = [
        {"filename": name, "file_type": kind, "cdn_url": BASE + name, "duration": None}
        for name, kind in (("pattern.png", "image"), ("clip.mp4", "video"), ("music.wav", "audio"))
    ]
    instruction = "turn my images into an animated video with the title 'Hi' and background music at 30%"
    edit = LocalEditor(resolve).edit(EditRequest("s", {}, instruction, uploads))
    draft = edit.draft
    assert draft["d"] == 3000 + 2000 - 500  # the crossfade: a quarter of the 2 s clip
    draft["m"].update(width=180, height=320)  # small, for speed
    out = tmp_path / "edited.mp4"
    await render(FfmpegRenderer(resolve), draft, out)
    streams = Streams(out)
    assert streams.info.duration_s == pytest.approx(draft["d"] / 1000, abs=0.05)
    assert streams.audio_codec == "aac"


@pytest.mark.anyio
async def test_music_continues_after_a_clip_with_sound_ends(
    resolve: Callable[[str], Path | None], tmp_path: Path
) -> None:
    # Mixing inputs of different lengths once cut the music at the clip's end; every branch is
    # now padded to the whole length.
    draft = draft_of(
        [seg("v1", "clip.mp4", 0, 1000), seg("v2", "dark.png", 1000, 2000)],
        music=[seg("a1", "music.wav", 0, 3000, v=0.5)],
        width=64,
        height=64,
    )
    out = tmp_path / "mixed.mp4"
    with anyio.fail_after(30):
        await render(FfmpegRenderer(resolve), draft, out)
    tail = ff("-ss", "2", "-i", str(out), "-af", "volumedetect", "-f", "null", "-").stderr.decode()
    match = re.search(r"mean_volume: (-?[\d.]+) dB", tail)
    assert match and float(match.group(1)) > -40, tail  # the sine at 50%, not silence (-91 dB)


@pytest.mark.anyio
async def test_a_stalled_ffmpeg_is_stopped(resolve: Callable[[str], Path | None], tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "ffmpeg"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexec sleep 30\n")
    fake.chmod(0o755)
    renderer = FfmpegRenderer(resolve, ffmpeg=str(fake), stall_timeout_s=0.5)
    out = tmp_path / "out" / "stalled.mp4"
    with anyio.fail_after(10), pytest.raises(RenderError, match="no progress"):
        await renderer.render(draft_of([seg("v1", "dark.png", 0, 1000)]), out, lambda _p: None)
    assert files_in(out.parent) == []
    assert not _ffmpeg_writing(out.parent)


@pytest.mark.anyio
async def test_progress_can_be_reported_as_a_fraction(resolve: Callable[[str], Path | None], tmp_path: Path) -> None:
    draft = draft_of([seg("v1", "dark.png", 0, 1000)], width=64, height=64)
    progress = await render(FfmpegRenderer(resolve, progress_scale=1.0), draft, tmp_path / "f.mp4")
    assert progress[0] == 0.0 and progress[-1] == 1.0 and all(0.0 <= p <= 1.0 for p in progress)


def test_plan_turns_overlaps_into_crossfades_and_gaps_into_black(
    resolve: Callable[[str], Path | None],
) -> None:
    draft = draft_of([
        seg("v1", "dark.png", 0, 3000),
        seg("v2", "clip.mp4", 2000, 2000),  # 1 s overlap, more than a quarter of v2
        seg("v3", "pattern.png", 5000, 1000),  # 1 s gap before it
        seg("v4", "dark.png", 5800, 1200),  # 0.2 s overlap
    ])  # fmt: skip
    plan = plan_from_draft(draft, resolve)
    # v2 starts where the draft says; the crossfade is a quarter of v2 (15 frames) and v1 ends with it.
    assert [(p.kind, p.start_frame, p.frames, p.overlap) for p in plan.video] == [
        ("image", 0, 75, 0),
        ("video", 60, 60, 15),
        ("blank", 120, 30, 0),
        ("image", 150, 30, 0),
        ("image", 174, 36, 6),
    ]
    assert plan.total_frames == 210
    # a draft shorter than its pictures: cut, and a part that would end inside its crossfade is left out
    draft["d"] = 2100
    plan = plan_from_draft(draft, resolve)
    assert [(p.kind, p.start_frame, p.frames, p.overlap) for p in plan.video] == [("image", 0, 63, 0)]
    draft["d"] = 7000
    # m.xf = 0: overlaps are cuts
    draft["m"]["xf"] = 0
    plan = plan_from_draft(draft, resolve)
    assert [(p.start_frame, p.frames, p.overlap) for p in plan.video][:2] == [(0, 60, 0), (60, 60, 0)]


def test_filter_values_are_escaped_for_both_levels() -> None:
    # level 1 escapes \\ ' : and level 2 escapes \\ ' [ ] , ; of the result
    assert escape_value("C:\\fonts\\a'b.ttf") == "C\\\\:\\\\\\\\fonts\\\\\\\\a\\\\\\'b.ttf"
    assert escape_value("between(t,0,1)") == "between(t\\,0\\,1)"
    assert escape_value("[x];y") == "\\[x\\]\\;y"


@pytest.mark.anyio
async def test_font_path_with_filter_syntax_characters(resolve: Callable[[str], Path | None], tmp_path: Path) -> None:
    folder = tmp_path / "it's [odd]: a,b;c"
    folder.mkdir()
    font = folder / "font.ttf"
    font.write_bytes(FONT_FILE.read_bytes())
    draft = draft_of([seg("v1", "dark.png", 0, 1000)], titles=[{"id": "x1", "st": 0, "d": 1000, "tx": "Hi"}])
    out = tmp_path / "odd.mp4"
    await FfmpegRenderer(resolve, font_file=font).render(draft, out, lambda _p: None)
    assert bright_pixels_in_middle_band(frame_at(out, 0.5, 360, 640)) > 100


def test_stderr_summary_keeps_the_last_meaningful_lines() -> None:
    lines = [
        "[in#0 @ 0x55d0] something early",
        "[Parsed_drawtext_3 @ 0x7f00] Cannot find a valid font for the family Sans",
        "[fc#0 @ 0x55b3] Error initializing filters",
        "[fc#0 @ 0x55b3] Task finished with error code: -22 (Invalid argument)",
        "[fc#0 @ 0x55b3] Error initializing filters",
    ]
    assert (
        summarize_stderr(lines, limit=2) == "Cannot find a valid font for the family Sans; Error initializing filters"
    )


@pytest.mark.parametrize(
    ("width", "expected"),
    [(10**400, 4096), (5000, 4096), (1081, 1080), (float("inf"), 1080), (float("nan"), 1080), (8, 1080)],
)
def test_canvas_sizes_past_the_limits_are_clamped_or_defaulted(
    resolve: Callable[[str], Path | None], width: float, expected: int
) -> None:
    """A width past float range (a JSON integer of 400 digits) is as too large as 5000, not a crash."""
    draft = draft_of([seg("v1", "dark.png", 0, 1000)])
    draft["m"]["width"] = width
    assert plan_from_draft(draft, resolve).width == expected
