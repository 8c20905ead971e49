"""The offline editor, rule by rule: layout, references, text, sound, languages, undo, and its own tables.

The project is realistic (tests/editor_project.py: landscape, portrait and square photos, a 1280x720
clip with sound, a 40 s song, an animated GIF); tests/test_editor_corpus.py runs the broad corpus.
"""

from __future__ import annotations

import itertools
import re
import string
from pathlib import Path
from typing import Any

import pytest
from tests.editor_project import Session, claims_change, editor_for, new_draft, upload_records

from nemo_mcp.local.editor import EditRequest, LocalEditor, parse_instruction
from nemo_mcp.local.editor.phrases import TABLE, UNSUPPORTED
from nemo_mcp.local.editor.reference import help_text, markdown
from nemo_mcp.local.editor.replies import CATALOGUE, language


@pytest.fixture(scope="module")
def editor(project_media: dict[str, Path]) -> LocalEditor:
    return editor_for(project_media)


@pytest.fixture
def uploads(project_media: dict[str, Path]) -> list[dict[str, Any]]:
    return upload_records(project_media)


@pytest.fixture
def s(editor: LocalEditor, uploads: list[dict[str, Any]]) -> Session:
    return Session(editor, uploads)


def layout(s: Session) -> list[tuple[str, str, int, int]]:
    return [(seg["id"], seg["n"], seg["st"], seg["d"]) for seg in s.track(0)]


# --- making the video ---------------------------------------------------------------------------


def test_slideshow_uses_every_upload_in_order_and_the_media_shape(s: Session) -> None:
    result = s.say("turn my images into an animated video")
    assert layout(s) == [
        ("v1", "city.png", 0, 3000),
        ("v2", "park.jpg", 2250, 3000),
        ("v3", "tower.png", 4500, 3000),
        ("v4", "walk.mp4", 6750, 8000),  # the probed length of the clip
        ("v5", "beach.png", 14000, 3000),
        ("v6", "logo.png", 16250, 3000),
        ("v7", "dance.gif", 18500, 3000),  # two loops of the 1.5 s GIF
    ]
    video = s.track(0)
    assert [seg.get("fx") for seg in video] == ["zoom_in"] * 3 + [None] + ["zoom_in"] * 2 + [None]
    assert [seg["k"] for seg in video] == ["image"] * 3 + ["video"] + ["image"] * 3
    # Four of the seven are landscape, so the canvas is, and the reply says how to change it.
    assert (s.draft["m"]["width"], s.draft["m"]["height"]) == (1920, 1080)
    assert s.draft["d"] == 21500
    assert result.tool_name == "edit_multitrack" and result.tool_args == {"action": "build"}
    assert "landscape" in result.reply and '"portrait"' in result.reply and "21.5 s" in result.reply


def test_the_demo_instruction_does_all_three(s: Session) -> None:
    result = s.say(
        "turn my images into an animated video with the title 'Hello from nemo-mcp' and background music at 30%"
    )
    assert len(s.track(0)) == 7
    assert s.track(7) == [{"id": "x1", "st": 0, "d": 3000, "tx": "Hello from nemo-mcp"}]
    assert s.track(1)[0]["v"] == 0.3 and s.track(1)[0]["d"] == s.draft["d"]
    assert result.tool_name == "edit_multitrack"
    assert [c["action"] for c in result.tool_args["commands"]] == ["build", "add_text", "add_music"]


def test_a_canvas_named_in_the_same_instruction_wins_over_the_media(s: Session) -> None:
    result = s.say("make a portrait slideshow")
    assert (s.draft["m"]["width"], s.draft["m"]["height"]) == (1080, 1920)
    assert "Most of your media" not in result.reply


def test_crossfades_are_never_more_than_a_quarter_of_the_shorter_item(s: Session) -> None:
    s.say("make a slideshow with each image 1 second")
    video = s.track(0)
    for a, b in itertools.pairwise(video):
        assert a["st"] + a["d"] - b["st"] == min(1000, a["d"] // 4, b["d"] // 4)
    s.say("no transitions")
    assert all(a["st"] + a["d"] == b["st"] for a, b in itertools.pairwise(s.track(0)))


def test_rebuilding_keeps_ids_lengths_and_cards(s: Session, uploads: list[dict[str, Any]]) -> None:
    s.uploads = uploads[:2]
    s.say("make a slideshow")
    s.say("make each image 4 seconds")
    s.say("add an outro that says 'Bye'")
    s.uploads = uploads[:3]
    s.say("make a slideshow")
    assert [(seg["id"], seg["n"], seg["d"]) for seg in s.track(0)] == [
        ("v1", "city.png", 4000),
        ("v2", "park.jpg", 4000),
        ("v4", "tower.png", 4000),
        ("v3", "outro", 3000),
    ]


def test_without_uploads_it_asks_for_media_or_offers_a_text_only_video(editor: LocalEditor) -> None:
    s = Session(editor, [])
    result = s.say("make a slideshow")
    assert s.draft == new_draft() and result.tool_name == "" and "text-only" in result.reply
    s.say("make a text-only video that says 'Coming soon' on a gradient from purple to pink")
    (card,) = s.track(0)
    assert {k: card[k] for k in ("k", "c", "c2", "fx", "d")} == {
        "k": "color", "c": "#800080", "c2": "#ffc0cb", "fx": "drift", "d": 3000,
    }  # fmt: skip
    assert s.track(7) == [{"id": "x1", "st": 0, "d": 3000, "tx": "Coming soon"}]


def test_an_intro_moves_the_texts_with_their_pictures(s: Session) -> None:
    s.say("make a slideshow")
    s.say("add a caption 'Day one' at 5 seconds")
    s.say("make a text-only intro that says 'Launch day' on a blue background")
    caption = next(t for t in s.track(7) if t["tx"] == "Day one")
    assert caption["st"] == 5000 + s.track(0)[1]["st"]  # where the old first photo now starts


# --- one item -----------------------------------------------------------------------------------


def test_trimming_the_clip_leaves_the_photos_alone(s: Session) -> None:
    s.say("make a slideshow")
    photos = [seg["d"] for seg in s.track(0) if seg["k"] == "image"]
    result = s.say("use the video clip only from 2s to 6s")
    clip = next(seg for seg in s.track(0) if seg["k"] == "video")
    assert (clip["ss"], clip["d"]) == (2000, 4000)
    assert [seg["d"] for seg in s.track(0) if seg["k"] == "image"] == photos
    assert result.tool_name == "trim" and "2 s–6 s" in result.reply
    result = s.say("use the clip from 5 to 12 seconds")  # past the end of the 8 s source
    clip = next(seg for seg in s.track(0) if seg["k"] == "video")
    assert (clip["ss"], clip["d"]) == (5000, 3000) and "only 8 s long" in result.reply


def test_speed_keeps_the_same_part_of_the_clip(s: Session) -> None:
    s.say("make a slideshow")
    s.say("cut the first 2 seconds of the clip")
    s.say("speed up the clip 2x")
    clip = next(seg for seg in s.track(0) if seg["k"] == "video")
    assert (clip["ss"], clip["sp"], clip["d"]) == (2000, 2, 3000)
    result = s.say("play the clip at 10x")
    clip = next(seg for seg in s.track(0) if seg["k"] == "video")
    assert clip["sp"] == 4 and "0.25× to 4×" in result.reply


def test_references_that_are_ambiguous_or_missing_change_nothing(s: Session) -> None:
    s.say("make a slideshow")
    before = s.draft
    for said, words in [
        ("remove the photo", "Which photo? There are 5"),
        ("remove the tenth photo", "only 5 photos"),
        ("delete sunset.png", 'no "sunset.png"'),
        ("speed up the second image", "Speed is for clips"),
    ]:
        result = s.say(said)
        assert s.draft == before and result.tool_name == "" and words in result.reply, result.reply
        assert not claims_change(result.reply)


# --- text ---------------------------------------------------------------------------------------


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
def test_add_title_in_any_quotes(s: Session, instruction: str) -> None:
    s.say("make a slideshow")
    result = s.say(instruction)
    assert s.track(7) == [{"id": "x1", "st": 0, "d": 3000, "tx": "Urban Dreams"}]
    assert result.tool_name == "add_text" and result.tool_args["text"] == "Urban Dreams"


def test_titles_keep_apostrophes_and_words_that_look_like_requests(s: Session) -> None:
    s.say("make a slideshow")
    s.say("add the title 'Don't stop: 100% \\ red, 5 seconds, \"really\"'")
    assert s.track(7)[0]["tx"] == 'Don\'t stop: 100% \\ red, 5 seconds, "really"'
    assert "c" not in s.track(7)[0]


def test_more_texts_never_replace_the_title(s: Session) -> None:
    s.say("make a slideshow")
    s.say("add the title 'Summer Trip'")
    s.say("add a caption 'Day one' at 5 seconds")
    s.say("add a second title 'Day two' from 10 to 12 seconds")
    assert [(t["tx"], t["st"], t["d"], t.get("pos")) for t in s.track(7)] == [
        ("Summer Trip", 0, 3000, None),
        ("Day one", 5000, 3000, "bottom"),
        ("Day two", 10000, 2000, None),
    ]
    s.say("add the title 'Our Summer'")  # the title is the first text: it changes
    assert [t["tx"] for t in s.track(7)] == ["Our Summer", "Day one", "Day two"]
    s.say("make the title bigger and red")
    s.say("move the caption 'Day one' to the top")
    title, day_one, _ = s.track(7)
    assert (title["fs"], title["c"], day_one["pos"]) == (126, "#ff0000", "top")
    s.say("remove the caption 'Day two'")
    assert [t["tx"] for t in s.track(7)] == ["Our Summer", "Day one"]


def test_a_text_past_the_end_goes_and_the_reply_says_so(s: Session) -> None:
    s.say("make a slideshow")
    s.say("add a caption 'Late' at 19 seconds")
    result = s.say("remove the clip")
    assert "Late" not in [t["tx"] for t in s.track(7)] and '"Late" started after the new end' in result.reply


# --- sound --------------------------------------------------------------------------------------


def test_music_levels_are_amplitudes_and_steps_are_honest(s: Session) -> None:
    s.say("make a slideshow")
    s.say("add background music")
    assert s.track(1) == [
        {"id": "a1", "st": 0, "d": 21500, "n": "song.mp3", "k": "audio", "src": s.uploads[-1]["cdn_url"], "v": 0.5}
    ]
    s.say("set the music volume to 40%")
    assert s.track(1)[0]["v"] == 0.4  # an amplitude: 20·log10(0.4) = −8 dB
    s.say("turn the music down a bit")
    assert s.track(1)[0]["v"] == 0.32
    s.say("set the music volume to 100%")
    before = s.draft
    result = s.say("make the music louder")
    assert s.draft == before and "full volume" in result.reply and not claims_change(result.reply)


def test_fades_ducking_and_the_clips_own_sound(s: Session) -> None:
    s.say("make a slideshow")
    s.say("add background music")
    s.say("fade out the music at the end")
    s.say("lower the music when the clip plays")
    s.say("mute the clip")
    music = s.track(1)[0]
    assert (music["fo"], music["dk"]) == (2000, 0.3)
    assert next(seg for seg in s.track(0) if seg["k"] == "video")["v"] == 0
    s.say("keep the clip's sound")
    assert "v" not in next(seg for seg in s.track(0) if seg["k"] == "video")
    s.say("fade in from black and fade out to black")
    assert (s.draft["m"]["fi"], s.draft["m"]["fo"]) == (1000, 1000)


@pytest.mark.parametrize(("said", "key"), [("fade in", "fi"), ("fade out", "fo")])
def test_a_fade_that_takes_the_music_along_reports_the_musics_own_fade(s: Session, said: str, key: str) -> None:
    s.say("make a slideshow")
    s.say("add background music")
    result = s.say(said)
    written = s.track(1)[0][key]
    assert written == 2000 and s.draft["m"][key] == 1000  # the music fades longer than the picture
    assert f"The music now fades {said.split()[1]} over {written / 1000:g} s." in result.reply


def test_the_video_length_is_reached_exactly(s: Session) -> None:
    s.say("make a slideshow")
    for seconds in (15, 40, 23.7):
        s.say(f"make it {seconds} seconds long")
        assert s.draft["d"] == round(seconds * 1000)
        assert next(seg for seg in s.track(0) if seg["k"] == "video")["d"] == 8000


# --- honesty, languages, fonts ------------------------------------------------------------------


def test_nothing_understood_leaves_the_draft_and_offers_phrasings(s: Session) -> None:
    s.say("make a slideshow")
    before = s.draft
    result = s.say("what's the weather like in Paris?")
    assert s.draft == before and (result.tool_name, result.tool_args) == ("", {})
    assert (
        "didn't understand" in result.reply and "Closest things I can do" in result.reply and '"help"' in result.reply
    )


def test_part_understood_does_that_part_and_names_the_rest(s: Session) -> None:
    s.say("make a slideshow")
    result = s.say("remove the second image and make it pop")
    assert "park.jpg" not in [seg["n"] for seg in s.track(0)]
    assert result.reply.startswith("Done: Removed") and 'didn\'t understand "make it pop"' in result.reply


def test_exporting_is_answered_for_a_chat(s: Session) -> None:
    s.say("make a slideshow")
    for said in ("export 1080p MP4", "download the video", "导出"):
        result = s.say(said)
        assert "click" not in result.reply.lower() and "ask me to export" in result.reply and result.tool_name == ""


def test_replies_follow_the_project_language(editor: LocalEditor, uploads: list[dict[str, Any]]) -> None:
    zh = Session(editor, uploads, language="zh-CN")
    result = zh.say("make a slideshow")
    assert result.reply.startswith("好了：") and "视频现在长" in result.reply
    result = zh.say("what's the weather")
    assert "我没听懂" in result.reply
    ja = Session(editor, uploads, language="ja")
    first = ja.say("make a slideshow")
    assert first.reply.startswith("Done: ") and "replies in English or Chinese" in first.reply
    second = ja.say("add background music")
    assert "replies in English or Chinese" not in second.reply  # said once: the project remembers
    tw = Session(editor, uploads, language="zh-TW")
    first = tw.say("make a slideshow")
    assert first.reply.startswith("好了：") and "簡體中文" in first.reply and "zh-TW" in first.reply
    assert "簡體中文" not in tw.say("add background music").reply


def test_text_no_font_can_show_is_reported_in_the_reply(project_media: dict[str, Path]) -> None:
    missing: list[str] = []

    def find_font(text: str) -> Path | None:
        missing.append(text)
        return None if re.search(r"[\u4e00-\u9fff]", text) else Path("DejaVuSans.ttf")

    s = Session(editor_for(project_media, find_font=find_font), upload_records(project_media), language="zh-CN")
    s.say("make a slideshow")
    result = s.say("加标题「夏日旅行」")
    assert "“夏日旅行”在视频里显示不出来" in result.reply and "nemo-mcp[cjk]" in result.reply
    result = s.say("add a caption 'Day one' at 5 seconds")
    assert "nemo-mcp[cjk]" not in result.reply and missing[-1] == "Day one"


def test_undo_hands_back_the_servers_last_draft(s: Session) -> None:
    s.say("make a slideshow")
    built = s.draft
    s.say("add the title 'One'")
    result = s.say("undo")
    assert result.reverted and s.draft == built and result.tool_name == "undo"
    s.say("撤销")
    assert s.draft == new_draft()
    result = s.say("undo")
    assert not result.reverted and result.tool_name == "" and "nothing to undo" in result.reply


def test_the_editor_keeps_no_session_state(editor: LocalEditor, uploads: list[dict[str, Any]]) -> None:
    request = EditRequest("s1", new_draft(), "make a slideshow", uploads)
    assert editor.edit(request).draft == editor.edit(request).draft
    assert request.draft == new_draft()


# --- the tables the parser, the replies and the README share ------------------------------------


def test_every_documented_phrasing_parses_to_its_row() -> None:
    for phrase in TABLE:
        assert phrase.en and phrase.zh, phrase.op  # the same coverage in both languages
        for said in (*phrase.en, *phrase.zh):
            parsed = parse_instruction(said, ["city.png", "walk.mp4", "dance.gif", "song.mp3"])
            assert not parsed.unknown and phrase.op in {c.op for c in parsed.commands}, (said, parsed)


def test_every_suggested_phrasing_works() -> None:
    for row in UNSUPPORTED:
        for said in (*row.en, *row.zh):
            parsed = parse_instruction(said, ["song.mp3"])
            assert parsed.commands and not parsed.unknown and "refuse" not in {c.op for c in parsed.commands}, said


def test_every_message_says_the_same_in_both_languages() -> None:
    fields = string.Formatter()
    for key, (en, zh) in CATALOGUE.items():
        assert en and zh, key
        assert {f[1] for f in fields.parse(en) if f[1]} == {f[1] for f in fields.parse(zh) if f[1]}, key
        assert "click" not in en.lower() and "点击" not in zh, key


def test_help_lists_every_row_in_the_projects_language() -> None:
    for lang in ("en", "zh"):
        text = help_text(lang)
        for phrase in TABLE:
            assert (phrase.en if lang == "en" else phrase.zh)[0] in text
    assert markdown().count("nemo-mcp say") == sum(len(p.en) + len(p.zh) for p in TABLE)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("en", ("en", None)),
        ("en-GB", ("en", None)),
        ("zh-CN", ("zh", None)),
        ("zh-Hans-SG", ("zh", None)),
        ("zh_TW", ("zh", "simplified_only")),
        ("zh-Hant-HK", ("zh", "simplified_only")),
        ("ja", ("en", "english_only")),
        ("", ("en", None)),
    ],
)
def test_language_codes(code: str, expected: tuple[str, str | None]) -> None:
    assert language(code) == expected


def test_tracks_stay_in_the_order_video_music_text(s: Session) -> None:
    s.say("add the title 'First' and add background music and make a slideshow")
    assert [t["tt"] for t in s.draft["t"]] == [0, 1, 7]
