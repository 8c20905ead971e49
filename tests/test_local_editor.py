"""The local backend's rule-based editor: each command's effect on the draft, with real probed media."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import png_bytes

from nemo_mcp.apiserver import EditRequest, EditResult
from nemo_mcp.local.editor import LocalEditor, parse_instruction
from nemo_mcp.local.probe import ffmpeg_exe

BASE = "http://127.0.0.1:9/media/"


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("editor-media")
    (folder / "city.png").write_bytes(png_bytes(16, 9, (30, 30, 200)))
    (folder / "park.png").write_bytes(png_bytes(9, 16, (30, 200, 30)))
    (folder / "beach.png").write_bytes(png_bytes(8, 8, (200, 200, 30)))
    (folder / "song1.mp3").write_bytes(b"not probed")
    (folder / "song2.mp3").write_bytes(b"not probed")
    # A real 2.5 s clip: the editor must probe its length (uploads carry duration None).
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-v", "error", "-nostdin", "-y", "-f", "lavfi",
         "-i", "testsrc2=s=64x48:r=30", "-t", "2.5", "-pix_fmt", "yuv420p", str(folder / "walk.mp4")],
        check=True,
    )  # fmt: skip
    return folder


def upload(name: str, kind: str, duration: float | None = None) -> dict[str, Any]:
    return {
        "filename": name, "file_type": kind, "cdn_url": BASE + name, "duration": duration,
        "width": None, "height": None, "fps": None, "hash": name,
    }  # fmt: skip


IMAGES = [upload("city.png", "image"), upload("park.png", "image")]
CLIP = upload("walk.mp4", "video")
SONG1, SONG2 = upload("song1.mp3", "audio", 30.0), upload("song2.mp3", "audio", 40.0)


@pytest.fixture
def editor(media_dir: Path) -> LocalEditor:
    def resolve(url: str) -> Path | None:
        path = media_dir / url.removeprefix(BASE)
        return path if url.startswith(BASE) and path.is_file() else None

    return LocalEditor(resolve)


class Session:
    """Runs instructions as the API server does (it keeps the undo history), checking every call
    leaves its input untouched."""

    def __init__(self, editor: LocalEditor, uploads: list[dict[str, Any]], sid: str = "s1") -> None:
        self.editor, self.uploads, self.sid = editor, uploads, sid
        self.draft: dict[str, Any] = {}
        self.history: list[dict[str, Any]] = []

    def say(self, instruction: str) -> EditResult:
        before = copy.deepcopy(self.draft)
        given = self.draft
        request = EditRequest(self.sid, given, instruction, self.uploads, history=list(self.history))
        result = self.editor.edit(request)
        assert given == before, "the editor mutated the draft it was given"
        assert result.draft is not given
        if result.reverted:
            assert result.draft == self.history.pop()
        elif result.draft != self.draft:
            self.history.append(self.draft)
        self.draft = result.draft
        return result


def track(draft: dict[str, Any], tt: int) -> list[dict[str, Any]]:
    return next((t["sg"] for t in draft.get("t", []) if t.get("tt") == tt), [])


def layout(draft: dict[str, Any]) -> list[tuple[str, int, int]]:
    return [(seg["id"], seg["st"], seg["d"]) for seg in track(draft, 0)]


def test_slideshow_puts_images_and_clips_in_upload_order_with_crossfades(editor: LocalEditor) -> None:
    s = Session(editor, [IMAGES[0], SONG1, CLIP, IMAGES[1]])
    result = s.say("turn my images into an animated video")
    video = track(s.draft, 0)
    assert [seg["n"] for seg in video] == ["city.png", "walk.mp4", "park.png"]
    assert [seg["k"] for seg in video] == ["image", "video", "image"]
    assert [seg["src"] for seg in video] == [BASE + "city.png", BASE + "walk.mp4", BASE + "park.png"]
    assert [seg.get("fx") for seg in video] == ["zoom", None, "zoom"]
    # images 3000 ms, the clip its probed 2500 ms; consecutive segments overlap by 1000 ms
    assert layout(s.draft) == [("v1", 0, 3000), ("v2", 2000, 2500), ("v3", 3500, 3000)]
    assert s.draft["d"] == 6500
    assert s.draft["m"]["width"] == 1080 and s.draft["m"]["height"] == 1920
    assert result.tool_name == "edit_multitrack" and result.tool_args == {"action": "slideshow"}
    assert "animated video" in result.reply and "6.5 s" in result.reply


def test_no_crossfade_next_to_a_segment_shorter_than_two_seconds(editor: LocalEditor) -> None:
    s = Session(editor, [*IMAGES, upload("beach.png", "image")])
    s.say("make a slideshow with each image 1.5 seconds")
    assert layout(s.draft) == [("v1", 0, 1500), ("v2", 1500, 1500), ("v3", 3000, 1500)]
    assert s.draft["d"] == 4500


def test_existing_canvas_is_kept_and_ids_stay_stable(editor: LocalEditor) -> None:
    s = Session(editor, list(IMAGES))
    s.draft = {
        "t": [],
        "d": 0,
        "m": {"title": "project", "width": 1920, "height": 1080},
        "extra": {"keep": 1},
    }
    s.say("make a slideshow")
    s.say("make each image 4 seconds")
    s.uploads.append(upload("beach.png", "image"))
    s.say("make a slideshow")
    # old segments keep their ids and lengths; the new image gets the next id and the same length
    assert layout(s.draft) == [("v1", 0, 4000), ("v2", 3000, 4000), ("v3", 6000, 4000)]
    assert s.draft["m"] == {"title": "project", "width": 1920, "height": 1080}
    assert s.draft["extra"] == {"keep": 1}


@pytest.mark.parametrize(
    "instruction",
    [
        "add the title 'Urban Dreams'",
        'add the title "Urban Dreams"',
        "add the title “Urban Dreams”",
        "add the title 「Urban Dreams」",
        "add the title Urban Dreams",
    ],
)
def test_add_title_in_any_quotes(editor: LocalEditor, instruction: str) -> None:
    s = Session(editor, list(IMAGES))
    s.say("make a slideshow")
    result = s.say(instruction)
    assert track(s.draft, 7) == [{"id": "x1", "st": 0, "d": 3000, "tx": "Urban Dreams"}]
    assert result.tool_name == "add_title" and result.tool_args == {
        "action": "add_title",
        "text": "Urban Dreams",
    }
    assert "Urban Dreams" in result.reply


def test_title_keeps_apostrophes_and_punctuation(editor: LocalEditor) -> None:
    s = Session(editor, list(IMAGES))
    s.say("make a slideshow")
    s.say("add the title 'Don't stop: 100% \\ yes, \"really\"'")
    assert track(s.draft, 7)[0]["tx"] == 'Don\'t stop: 100% \\ yes, "really"'


def test_title_duration_change_and_removal(editor: LocalEditor) -> None:
    s = Session(editor, list(IMAGES))
    s.say("make a slideshow with the title 'Urban Dreams'")
    result = s.say("make the title last 5 seconds")
    assert track(s.draft, 7)[0]["d"] == 5000
    assert result.tool_name == "set_title_duration" and result.tool_args == {
        "action": "title_duration",
        "ms": 5000,
    }
    s.say("make the title last 9 seconds")  # clipped to the 5 s video
    assert track(s.draft, 7)[0]["d"] == 5000 == s.draft["d"]
    s.say("add the title 'Second' and make it last 2 seconds")
    assert track(s.draft, 7) == [{"id": "x1", "st": 0, "d": 2000, "tx": "Second"}]
    result = s.say("remove the title")
    assert track(s.draft, 7) == [] and result.tool_name == "remove_title"
    result = s.say("remove the title")
    assert result.tool_name == "" and "no title" in result.reply


def test_music_uses_latest_audio_across_the_video_with_volume(editor: LocalEditor) -> None:
    s = Session(editor, [*IMAGES, SONG1, SONG2])
    s.say("make a slideshow")
    result = s.say("add background music")
    assert track(s.draft, 1) == [
        {"id": "a1", "st": 0, "d": 5000, "n": "song2.mp3", "k": "audio", "src": BASE + "song2.mp3", "v": 0.5}
    ]
    assert result.tool_name == "add_music" and "50%" in result.reply
    result = s.say("set the music volume to 20%")
    assert track(s.draft, 1)[0]["v"] == pytest.approx(0.2)
    assert result.tool_name == "set_music_volume" and result.tool_args == {
        "action": "set_music_volume",
        "volume": 0.2,
    }
    s.say("add background music at 30%")
    assert track(s.draft, 1)[0]["v"] == pytest.approx(0.3) and len(track(s.draft, 1)) == 1
    s.say("make it 15 seconds long")  # music keeps spanning the whole video
    assert track(s.draft, 1)[0]["d"] == 15000 == s.draft["d"]
    result = s.say("remove the music")
    assert track(s.draft, 1) == [] and result.tool_name == "remove_music"


def test_music_without_audio_upload_changes_nothing(editor: LocalEditor) -> None:
    s = Session(editor, list(IMAGES))
    s.say("make a slideshow")
    before = copy.deepcopy(s.draft)
    result = s.say("add background music")
    assert s.draft == before
    assert result.tool_name == "" and "upload an audio file" in result.reply


def test_total_length_scales_images_and_keeps_clips(editor: LocalEditor) -> None:
    s = Session(editor, [IMAGES[0], CLIP, IMAGES[1]])
    s.say("make a slideshow")
    result = s.say("make it 15 seconds long")
    assert s.draft["d"] == 15000
    video = track(s.draft, 0)
    assert video[1]["d"] == 2500  # the clip keeps its length
    assert abs(video[0]["d"] - video[2]["d"]) <= 1
    end = max(seg["st"] + seg["d"] for seg in video)
    assert end == 15000
    assert result.tool_name == "edit_multitrack" and result.tool_args == {
        "action": "total_duration",
        "ms": 15000,
    }


def test_each_image_seconds(editor: LocalEditor) -> None:
    s = Session(editor, [IMAGES[0], CLIP, IMAGES[1]])
    s.say("make a slideshow")
    s.say("make each image 4 seconds")
    assert [seg["d"] for seg in track(s.draft, 0)] == [4000, 2500, 4000]
    assert s.draft["d"] == 4000 + 2500 + 4000 - 2000


@pytest.mark.parametrize(
    ("word", "size"),
    [
        ("portrait", (1080, 1920)),
        ("landscape", (1920, 1080)),
        ("square", (1080, 1080)),
        ("竖屏", (1080, 1920)),
    ],
)
def test_canvas(editor: LocalEditor, word: str, size: tuple[int, int]) -> None:
    s = Session(editor, list(IMAGES))
    s.say("make a slideshow")
    s.draft["m"].update(width=1, height=1)
    result = s.say(f"make it {word}")
    assert (s.draft["m"]["width"], s.draft["m"]["height"]) == size
    assert result.tool_name == "set_canvas"


def test_combined_instruction_does_all_three(editor: LocalEditor) -> None:
    s = Session(editor, [*IMAGES, SONG1])
    result = s.say(
        "turn my images into an animated video with the title 'Hello from nemo-mcp' and background music at 30%"
    )
    assert layout(s.draft) == [("v1", 0, 3000), ("v2", 2000, 3000)]
    assert track(s.draft, 7) == [{"id": "x1", "st": 0, "d": 3000, "tx": "Hello from nemo-mcp"}]
    music = track(s.draft, 1)
    assert music[0]["v"] == pytest.approx(0.3) and music[0]["d"] == 5000 == s.draft["d"]
    assert result.tool_name == "edit_multitrack"
    assert [c["action"] for c in result.tool_args["commands"]] == ["slideshow", "add_title", "add_music"]
    assert "Hello from nemo-mcp" in result.reply and "30%" in result.reply


def test_chinese_words(editor: LocalEditor) -> None:
    s = Session(editor, [*IMAGES, SONG1])
    s.say("把我的图片做成动画视频，加上标题「你好」和背景音乐30%")
    assert len(track(s.draft, 0)) == 2
    assert track(s.draft, 7)[0]["tx"] == "你好"
    assert track(s.draft, 1)[0]["v"] == pytest.approx(0.3)
    s.say("每张图片4秒")
    assert [seg["d"] for seg in track(s.draft, 0)] == [4000, 4000]
    s.say("删除标题")
    s.say("去掉音乐")
    assert track(s.draft, 7) == [] and track(s.draft, 1) == []
    before = copy.deepcopy(s.draft)
    result = s.say("导出")
    assert s.draft == before and "Export" in result.reply and result.tool_name == ""


def test_unknown_instruction_returns_the_same_draft_and_lists_abilities(editor: LocalEditor) -> None:
    s = Session(editor, list(IMAGES))
    s.say("make a slideshow")
    before = copy.deepcopy(s.draft)
    result = s.say("what's the weather like in Paris?")
    assert s.draft == before
    assert result.tool_name == "" and result.tool_args == {}
    for ability in ("title", "music", "slideshow", "portrait", "undo"):
        assert ability in result.reply


def test_undo_restores_previous_drafts_per_session(editor: LocalEditor) -> None:
    s = Session(editor, [*IMAGES, SONG1])
    other = Session(editor, list(IMAGES), sid="s2")
    s.say("make a slideshow")
    after_slideshow = copy.deepcopy(s.draft)
    s.say("add the title 'One'")
    after_title = copy.deepcopy(s.draft)
    s.say("add background music")
    other.say("make a slideshow")  # another session's history is separate
    result = s.say("undo")
    assert s.draft == after_title and result.tool_name == "undo"
    s.say("撤销")
    assert s.draft == after_slideshow
    s.say("undo")
    assert s.draft == {}
    result = s.say("undo")
    assert s.draft == {} and result.tool_name == "" and "nothing to undo" in result.reply.lower()
    other.say("undo")
    assert other.draft == {}


def test_unapplicable_and_unchanged_edits_do_not_enter_history(editor: LocalEditor) -> None:
    s = Session(editor, list(IMAGES))
    s.say("make a slideshow")
    first = copy.deepcopy(s.draft)
    s.say("remove the music")  # nothing to remove: not a change
    s.say("make a slideshow")  # already like that
    s.say("undo")
    assert s.draft == {} != first


def test_parse_instruction_orders_and_reads_numbers() -> None:
    commands = parse_instruction("add the title “Hi” then make it 12 seconds long, and make it square")
    assert [c.as_dict() for c in commands] == [
        {"action": "set_canvas", "format": "square", "width": 1080, "height": 1080},
        {"action": "total_duration", "ms": 12000},
        {"action": "add_title", "text": "Hi"},
    ]
    assert parse_instruction("make it one minute long")[0].args == {"ms": 60000}
    assert parse_instruction("标题显示5秒")[0].as_dict() == {"action": "title_duration", "ms": 5000}
    assert parse_instruction("hello there") == []
