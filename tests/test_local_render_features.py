"""The renderer's features (issue #12) and frames for the model (issue #13), on real files with the real ffmpeg.

Each render is short and small (a canvas of 180x320 or so) unless size matters; every claim is
measured on the decoded output: pixels of a frame, the frame where a clip's content changes, the
level of the sound with ffmpeg's volumedetect.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.renderkit import (
    BASE,
    Picture,
    decode_image,
    draft_of,
    frame_at,
    level_db,
    luma_per_frame,
    make,
    scaled,
    seg,
)

from nemo_mcp.local import fonts, graph
from nemo_mcp.local.render import MAX_FRAME_BYTES, FfmpegRenderer, RenderError, frame_size, render_frames

pytestmark = [pytest.mark.slow, pytest.mark.anyio]
W, H = 180, 320


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("features-media")
    lavfi = ["-f", "lavfi", "-i"]
    files = [
        make(folder, "dark.png", *lavfi, "color=c=0x202020:s=320x240", "-frames:v", "1"),
        make(folder, "pattern.png", *lavfi, "testsrc2=s=320x240", "-frames:v", "1"),
        make(folder, "noise.png", *lavfi, "color=c=gray:s=1080x1920,noise=alls=100:allf=u", "-frames:v", "1"),
        make(folder, "anim.gif", *lavfi, "testsrc2=s=160x120:r=10", "-t", "1"),
        # 1 s black with a 2 kHz tone, then 1 s white in silence: where the content changes is measurable.
        make(
            folder, "steps.mp4",
            *lavfi, "color=c=black:s=160x120:r=30:d=1", *lavfi, "color=c=white:s=160x120:r=30:d=1",
            *lavfi, "sine=f=2000:sample_rate=48000:d=1", *lavfi, "anullsrc=r=48000:cl=mono:d=1",
            "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0[v];[2:a][3:a]concat=n=2:v=0:a=1[a]",
            "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-g", "10", "-pix_fmt", "yuv420p", "-c:a", "aac",
        ),
        make(folder, "music.wav", *lavfi, "sine=f=220:sample_rate=48000", "-t", "4"),
        make(folder, "big.png", *lavfi, "testsrc2=s=1280x720", "-frames:v", "1"),
    ]  # fmt: skip
    # Its header reads fine, its picture data is cut: probing passes, decoding fails.
    damaged = folder / "damaged.png"
    damaged.write_bytes(files[-1].read_bytes()[:20_000])
    return {path.name: path for path in [*files, damaged]}


@pytest.fixture
def resolve(media: dict[str, Path]) -> Callable[[str], Path | None]:
    return lambda url: media.get(url.removeprefix(BASE)) if url.startswith(BASE) else None


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def rendered(resolve: Callable[[str], Path | None], draft: dict[str, Any], out: Path) -> Path:
    await FfmpegRenderer(resolve).render(draft, out, lambda _p: None)
    return out


def red(r: int, g: int, b: int) -> bool:
    return r > 170 and g < 90 and b < 90


def bright(r: int, g: int, b: int) -> bool:
    return min(r, g, b) > 200


# ---------------------------------------------------------------------------
# Texts


async def test_texts_show_in_their_time_colour_and_position(resolve: Any, tmp_path: Path) -> None:
    draft = draft_of(
        [seg("v1", "dark.png", 0, 2000)],
        titles=[
            {"id": "x1", "st": 0, "d": 1000, "tx": "TOP", "pos": "top", "c": "#ff0000", "fs": 48},
            {"id": "x2", "st": 500, "d": 1500, "tx": "Low", "pos": "bottom", "fs": 32},  # overlaps x1
        ],
        width=W,
        height=H,
    )
    out = await rendered(resolve, draft, tmp_path / "texts.mp4")
    early, both, late = (frame_at(out, t, W, H) for t in (0.2, 0.7, 1.5))
    # red text in the top quarter only, while it lasts
    assert early.count(0, 0.25, red) > 150
    assert early.count(0.25, 1, red) == 0
    assert late.count(0, 1, red) == 0
    # the white bottom text starts at 0.5 s, in the bottom quarter, and is there with the red one
    assert early.count(0.75, 1, bright) == 0
    assert both.count(0.75, 1, bright) > 100 and both.count(0, 0.25, red) > 150
    assert late.count(0.75, 1, bright) > 100
    assert late.count(0.25, 0.75, bright) == 0  # nothing in the middle: the default (centre) is not used


async def test_cjk_text_draws_real_glyphs(resolve: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = {"id": "x1", "st": 0, "d": 500, "tx": "你好世界", "fs": 40}
    draft = draft_of([seg("v1", "dark.png", 0, 500)], titles=[text], width=W, height=H)
    assert fonts.find_font("你好世界") not in {None, fonts.DEFAULT_FONT}
    glyphs = frame_at(await rendered(resolve, draft, tmp_path / "cjk.mp4"), 0.2, W, H)
    # The same box drawn with the Latin font, which has no CJK glyph: empty boxes (tofu).
    monkeypatch.setattr(graph, "find_font", lambda _text: None)
    tofu = frame_at(await rendered(resolve, draft, tmp_path / "tofu.mp4"), 0.2, W, H)
    plain = frame_at(await rendered(resolve, draft_of([seg("v1", "dark.png", 0, 500)], width=W, height=H),
                                    tmp_path / "plain.mp4"), 0.2, W, H)  # fmt: skip
    strokes, outlines = glyphs.count(0.3, 0.7, bright), tofu.count(0.3, 0.7, bright)
    assert strokes > 1.5 * outlines and strokes > 400, (strokes, outlines)
    assert glyphs.difference(tofu) > 3 and glyphs.difference(plain) > 5


def test_find_font_covers_the_script_or_says_none(monkeypatch: pytest.MonkeyPatch) -> None:
    assert fonts.find_font("Hello, Ünïcödé — Привет") == fonts.DEFAULT_FONT
    assert fonts.find_font("😀 !!") == fonts.DEFAULT_FONT  # symbols alone need no other font
    for text in ("你好", "こんにちは", "안녕하세요", "Mix 中文 text"):
        font = fonts.find_font(text)
        assert font is not None and font.is_file() and font != fonts.DEFAULT_FONT, text
        assert all(fonts._in_ranges(ord(ch), fonts.cmap_ranges(font)) for ch in text if ch.strip())
    # With nothing but DejaVu to choose from, a script it lacks has no font.
    monkeypatch.setattr(fonts, "_fontconfig_matches", lambda _needed: [])
    monkeypatch.setattr(fonts, "WELL_KNOWN_FONTS", ())
    monkeypatch.setattr(fonts, "EXTRA_FONTS", ())
    fonts._find.cache_clear()
    try:
        assert fonts.find_font("你好") is None
        assert fonts.find_font("สวัสดี") is None
        assert fonts.find_font("Hello") == fonts.DEFAULT_FONT
    finally:
        fonts._find.cache_clear()


# ---------------------------------------------------------------------------
# Framing, colour items, motion, animation


async def test_fit_letterboxes_on_a_colour_or_a_blur_and_fill_crops(resolve: Any, tmp_path: Path) -> None:
    # pattern.png is 4:3: in a 9:16 frame, fit leaves bars above and below it.
    draft = draft_of(
        [
            seg("v1", "pattern.png", 0, 500, fit="fit", bg="#00ff00"),
            seg("v2", "pattern.png", 500, 500, fit="fit"),  # the draft's background: blur
            seg("v3", "pattern.png", 1000, 500),  # the draft's fit: fill
        ],
        width=W,
        height=H,
        bg="blur",
    )
    out = await rendered(resolve, draft, tmp_path / "fit.mp4")
    solid, blurred, filled = (frame_at(out, t, W, H) for t in (0.2, 0.7, 1.2))
    r, g, b = solid.mean(0, 0.2)
    assert g > 200 and r < 40 and b < 40  # the bar is the colour asked for
    assert sharpness(solid, 0.5) > 60 and solid.mean(0.45, 0.55)[1] < 180  # the picture is in the middle
    bar = blurred.mean(0, 0.2)
    assert sum(bar) / 3 > 40 and bar != pytest.approx(solid.mean(0, 0.2), abs=20)  # a picture: not black, not green
    assert sharpness(blurred, 0.1) < 25  # blurred: neighbouring pixels of a bar's row barely differ
    assert sharpness(filled, 0.1) > 60  # fill: the sharp picture to the edge


def sharpness(picture: Picture, at: float) -> int:
    """The largest step in red between neighbouring pixels of the row at ``at`` of the height."""
    row = picture.rows(at, at + 1 / picture.height)
    return max(abs(a[0] - b[0]) for a, b in itertools.pairwise(row))


async def test_colour_items_solid_gradient_and_drift(resolve: Any, tmp_path: Path) -> None:
    draft = draft_of(
        [
            {"id": "c1", "st": 0, "d": 500, "k": "color", "c": "#ff0000"},
            {"id": "c2", "st": 500, "d": 1500, "k": "color", "c": "#000080", "c2": "#ffff00", "fx": "drift"},
        ],
        titles=[{"id": "x1", "st": 500, "d": 1500, "tx": "Just words"}],  # a text-only video
        width=W,
        height=H,
    )
    out = await rendered(resolve, draft, tmp_path / "colour.mp4")
    solid = frame_at(out, 0.2, W, H)
    assert solid.pixel(W // 2, H // 2) == pytest.approx((255, 0, 0), abs=12)
    start, end = frame_at(out, 0.5, W, H), frame_at(out, 1.96, W, H)
    top_left, bottom_right = start.pixel(2, 2), start.pixel(W - 3, H - 3)
    assert top_left[2] > top_left[0] and bottom_right[0] > 150 and bottom_right[2] < 100  # from c to c2
    assert start.count(0.4, 0.6, bright) > 50  # the text over it
    assert start.difference(end) > 2  # drift: the gradient moved


async def test_photo_motions_start_and_end_where_their_opposites_end_and_start(resolve: Any) -> None:
    def motion(fx: str) -> dict[str, Any]:
        return draft_of([seg("v1", "pattern.png", 0, 1000, fx=fx)], width=W, height=H)

    def still(frame: Any) -> Picture:
        return decode_image(frame.jpeg, frame.width, frame.height)

    ends = {}
    for fx in ("zoom_in", "zoom_out", "pan_left", "pan_right", "none"):
        first, last = await render_frames(motion(fx), [0, 0.99], resolve, long_side=H)
        ends[fx] = still(first), still(last)
    assert ends["none"][0].difference(ends["none"][1]) < 1
    for fx in ("zoom_in", "zoom_out", "pan_left", "pan_right"):
        assert ends[fx][0].difference(ends[fx][1]) > 5, fx  # it moves
    for one, other in (("zoom_in", "zoom_out"), ("pan_left", "pan_right")):
        assert ends[one][0].difference(ends[other][1]) < 2, one
        assert ends[one][1].difference(ends[other][0]) < 2, one
    # zoom_in starts on the whole picture, framed as a still one is, and ends magnified
    assert ends["zoom_in"][0].difference(ends["none"][0]) < 5


async def test_animated_gif_plays_looped_to_its_segment(resolve: Any, tmp_path: Path) -> None:
    draft = draft_of([seg("v1", "anim.gif", 0, 2500)], width=W, height=H)
    out = await rendered(resolve, draft, tmp_path / "gif.mp4")
    frames = {t: frame_at(out, t, W, H) for t in (0.1, 0.5, 1.1, 2.1)}
    assert frames[0.1].difference(frames[0.5]) > 3  # it plays
    assert frames[0.1].difference(frames[1.1]) < 2  # from the start again after its 1 s
    assert frames[0.1].difference(frames[2.1]) < 2


# ---------------------------------------------------------------------------
# Clips: trim, speed, volume


def switch_time(out: Path) -> float:
    """When the clip's content turns from black to white, in seconds."""
    lumas = luma_per_frame(out)
    return next(i for i, value in enumerate(lumas) if value > 128) / 30


@pytest.mark.parametrize(
    ("extra", "length", "switch"),
    [
        ({}, 2000, 1.0),
        ({"ss": 500}, 1500, 0.5),  # trimmed: the change comes 0.5 s earlier
        ({"sp": 2}, 1000, 0.5),  # twice as fast: everything in half the time
        ({"sp": 0.5, "ss": 250}, 2000, 1.5),  # half speed from 0.25 s: (1 - 0.25) / 0.5
        ({"sp": 4}, 500, 0.25),
    ],
)
async def test_trim_and_speed_change_when_the_clip_content_plays(
    resolve: Any, tmp_path: Path, extra: dict[str, Any], length: int, switch: float
) -> None:
    draft = draft_of([seg("v1", "steps.mp4", 0, length, **extra)], width=64, height=64)
    out = await rendered(resolve, draft, tmp_path / "clip.mp4")
    assert switch_time(out) == pytest.approx(switch, abs=1.5 / 30)
    # the sound follows: the 2 kHz tone lasts until the switch, at its pitch (atempo keeps it)
    tone = "highpass=f=1500,lowpass=f=2500"
    assert level_db(out, 0, switch * 0.8, af=tone) > -40
    if length / 1000 - switch > 0.2:
        assert level_db(out, switch + 0.1, af=tone) < -70


async def test_clip_volume_and_mute(resolve: Any, tmp_path: Path) -> None:
    levels = {}
    for volume in (1.0, 0.5, 0):
        draft = draft_of([seg("v1", "steps.mp4", 0, 900, v=volume)], width=64, height=64)
        levels[volume] = level_db(await rendered(resolve, draft, tmp_path / f"v{volume}.mp4"), 0, 0.8)
    assert levels[1.0] - levels[0.5] == pytest.approx(6.02, abs=0.6)
    assert levels[0] < -85  # muted


# ---------------------------------------------------------------------------
# Music: gain, fades, ducking; the video's fades


async def test_music_gain_is_an_amplitude_40_percent_is_minus_8_db(resolve: Any, tmp_path: Path) -> None:
    levels = {}
    for volume in (1.0, 0.4):
        draft = draft_of([], music=[seg("a1", "music.wav", 0, 1500, v=volume)], width=64, height=64)
        levels[volume] = level_db(await rendered(resolve, draft, tmp_path / f"m{volume}.mp4"))
    assert levels[0.4] - levels[1.0] == pytest.approx(-7.96, abs=0.5)


async def test_music_fades_in_and_out(resolve: Any, tmp_path: Path) -> None:
    draft = draft_of([], music=[seg("a1", "music.wav", 0, 3000, fi=1000, fo=1000)], width=64, height=64)
    out = await rendered(resolve, draft, tmp_path / "fades.mp4")
    rising = [level_db(out, t, 0.2) for t in (0.0, 0.4, 0.8)]
    full = level_db(out, 1.2, 0.6)
    falling = [level_db(out, t, 0.2) for t in (2.0, 2.4, 2.78)]
    assert rising == sorted(rising) and rising[0] < full - 10 and rising[-1] < full
    assert falling == sorted(falling, reverse=True) and falling[-1] < full - 10


async def test_music_ducks_under_a_clip_with_sound(resolve: Any, tmp_path: Path) -> None:
    def draft(clip_volume: float) -> dict[str, Any]:
        return draft_of(
            [seg("v1", "dark.png", 0, 1000), seg("v2", "steps.mp4", 1000, 900, v=clip_volume),
             seg("v3", "dark.png", 1900, 1100)],
            music=[seg("a1", "music.wav", 0, 3000, dk=0.25)], width=64, height=64,
        )  # fmt: skip

    music_only = "lowpass=f=400,lowpass=f=400"  # the 220 Hz music without the clip's 2 kHz tone
    out = await rendered(resolve, draft(1.0), tmp_path / "ducked.mp4")
    before, under, after = (
        level_db(out, 0.2, 0.5, music_only),
        level_db(out, 1.3, 0.4, music_only),
        level_db(out, 2.3, 0.5, music_only),
    )
    assert under - before == pytest.approx(-12.04, abs=1.5)  # 20*log10(0.25)
    assert after == pytest.approx(before, abs=0.5)  # and back
    # a muted clip has no sound to duck under
    quiet = await rendered(resolve, draft(0), tmp_path / "not-ducked.mp4")
    assert level_db(quiet, 1.3, 0.4, music_only) == pytest.approx(before, abs=0.5)


async def test_draft_fades_from_and_to_black(resolve: Any, tmp_path: Path) -> None:
    draft = draft_of([seg("v1", "pattern.png", 0, 2000)], music=[seg("a1", "music.wav", 0, 2000)],
                     width=64, height=64, fi=500, fo=500)  # fmt: skip
    out = await rendered(resolve, draft, tmp_path / "faded.mp4")
    lumas = luma_per_frame(out)
    assert lumas[0] < 20 and lumas[-1] < 0.25 * lumas[30]  # black at both ends
    assert lumas[0] < lumas[7] < lumas[20]  # rising over the first 0.5 s
    assert lumas[-1] < lumas[-8] < lumas[30]  # falling over the last
    assert level_db(out, 0, 0.1) < level_db(out, 0.8, 0.4) - 10  # the sound fades too


async def test_crossfade_blends_and_is_capped_at_a_quarter(resolve: Any, tmp_path: Path) -> None:
    # 1 s overlap, but a quarter of the 1.2 s item is 0.3 s: v2 starts at 1.0 s, v1 ends at 1.3 s.
    draft = draft_of([seg("v1", "dark.png", 0, 2000), seg("v2", "noise.png", 1000, 1200)], width=64, height=64)
    out = await rendered(resolve, draft, tmp_path / "xfade.mp4")
    lumas = luma_per_frame(out)
    dark, light = lumas[20], lumas[50]
    assert lumas[29] == pytest.approx(dark, abs=3)  # before v2's start: v1 alone
    assert dark + 0.3 * (light - dark) < lumas[34] < dark + 0.7 * (light - dark)  # half way through
    assert lumas[40] == pytest.approx(light, abs=3)  # after 1.3 s: v2 alone
    assert len(lumas) == 66


# ---------------------------------------------------------------------------
# Bad media


async def test_a_clip_trimmed_past_its_end_names_the_segment(resolve: Any, tmp_path: Path) -> None:
    draft = draft_of([seg("v1", "dark.png", 0, 500), seg("v9", "steps.mp4", 500, 500, ss=5000)])
    with pytest.raises(RenderError, match=r"v9 \(steps\.mp4\).*5 s into its clip.*2 s long"):
        await FfmpegRenderer(resolve).render(draft, tmp_path / "x.mp4", lambda _p: None)
    with pytest.raises(RenderError, match=r"v9 \(steps\.mp4\)"):
        await render_frames(draft, [0.7], resolve)
    assert list(tmp_path.iterdir()) == []


async def test_a_damaged_picture_names_its_segment_and_why(resolve: Any, tmp_path: Path) -> None:
    draft = draft_of([seg("v1", "dark.png", 0, 500), seg("v2", "damaged.png", 500, 500)], width=64, height=64)
    with pytest.raises(RenderError, match=r"segment v2 \(damaged\.png\) could not be read: .*Invalid data"):
        await FfmpegRenderer(resolve).render(draft, tmp_path / "x.mp4", lambda _p: None)
    with pytest.raises(RenderError, match=r"segment v2 \(damaged\.png\) could not be read"):
        await render_frames(draft, [0.2, 0.7], resolve)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------
# Frames for the model


async def test_frames_decode_at_their_size_show_the_timeline_and_match_the_export(resolve: Any, tmp_path: Path) -> None:
    draft = draft_of(
        [seg("v1", "dark.png", 0, 3000, fx="zoom_in"), seg("v2", "dark.png", 2500, 3500, fit="fit", bg="#0000ff")],
        titles=[{"id": "x1", "st": 0, "d": 2000, "tx": "Title"}],
        width=360,
        height=640,
    )
    times = [1.0, 2.7, 5.0, 99.0]  # a title, a crossfade, no title, past the end
    frames = await render_frames(draft, times, resolve)
    assert [(f.width, f.height) for f in frames] == [frame_size(360, 640, 360)] * 4 == [(202, 360)] * 4
    assert [f.time_s for f in frames] == [1.0, 2.7, 5.0, pytest.approx(5.9667, abs=1e-3)]
    pictures = [decode_image(f.jpeg, f.width, f.height) for f in frames]
    assert all(len(f.jpeg) <= MAX_FRAME_BYTES for f in frames)
    # the title at 1 s, gone at 5 s; half way through the crossfade, the blue bars half there
    assert pictures[0].count(0.4, 0.6, bright) > 50
    assert pictures[2].count(0, 1, bright) < 5
    blue = [picture.mean(0, 0.1)[2] for picture in pictures[:3]]
    assert blue[0] < 50 and blue[2] > 150 and blue[0] + 30 < blue[1] < blue[2] - 30

    out = await rendered(resolve, draft, tmp_path / "export.mp4")
    for time_s, picture in zip(times[:3], pictures, strict=False):
        exported = scaled(frame_at(out, time_s, 360, 640), 202, 360)
        assert picture.difference(exported) < 4, time_s


async def test_frames_stay_small_at_any_size(resolve: Any) -> None:
    draft = draft_of([seg("v1", "noise.png", 0, 1000)], width=1080, height=1920)
    frames = await render_frames(draft, [0.5], resolve, long_side=1080)
    assert (frames[0].width, frames[0].height) == (608, 1080)
    assert len(frames[0].jpeg) <= MAX_FRAME_BYTES
    decode_image(frames[0].jpeg, 608, 1080)


async def test_frames_of_odd_times_and_a_small_canvas(resolve: Any) -> None:
    draft = draft_of([{"id": "c1", "st": 0, "d": 1000, "k": "color", "c": "#336699"}], width=120, height=90)
    assert await render_frames(draft, [], resolve) == []
    frames = await render_frames(draft, [float("nan"), -5, 0.5, 1e9], resolve)
    assert [f.time_s for f in frames] == [0.0, 0.0, 0.5, pytest.approx(29 / 30)]
    assert {(f.width, f.height) for f in frames} == {(120, 90)}  # never larger than the canvas
    assert decode_image(frames[0].jpeg, 120, 90).pixel(60, 45) == pytest.approx((0x33, 0x66, 0x99), abs=6)
    assert frame_size(1920, 1080, 360) == (360, 202) and frame_size(1080, 1080, 360) == (360, 360)
