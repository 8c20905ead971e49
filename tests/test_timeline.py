"""Reading drafts, summarising them and describing changes between two of them."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from nemo_mcp.draft import (
    TRACK_TYPES,
    Segment,
    Timeline,
    Track,
    diff,
    is_exportable,
    parse_draft,
    summarize,
)
from nemo_mcp.results import StateResult

# The example of docs/draft-format.md.
EXAMPLE: dict[str, Any] = {
    "t": [
        {
            "tt": 0,
            "sg": [
                {"id": "v1", "st": 0, "d": 5500, "n": "city.jpg", "k": "image", "src": "http://h/city.jpg"},
                {
                    "id": "v2",
                    "st": 4500,
                    "d": 5500,
                    "n": "park.jpg",
                    "k": "image",
                    "src": "http://h/park.jpg",
                },
            ],
        },
        {"tt": 1, "sg": [{"id": "a1", "st": 0, "d": 10000, "n": "lofi.mp3", "k": "audio", "v": 0.35}]},
        {"tt": 7, "sg": [{"id": "x1", "st": 0, "d": 3000, "tx": "Urban Dreams"}]},
    ],
    "d": 10000,
    "m": {"title": "project", "width": 1080, "height": 1920},
}


def draft(*tracks: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"t": list(tracks), **top}


def seg(**keys: Any) -> dict[str, Any]:
    return keys


# --- parsing ---------------------------------------------------------------------------------


def test_parse_the_documented_example() -> None:
    timeline = parse_draft(EXAMPLE)
    assert timeline == Timeline(
        duration_ms=10000,
        width=1080,
        height=1920,
        title="project",
        tracks=[
            Track(
                type="video",
                raw_type=0,
                segments=[
                    Segment(
                        id="v1",
                        start_ms=0,
                        duration_ms=5500,
                        end_ms=5500,
                        name="city.jpg",
                        kind="image",
                        source="http://h/city.jpg",
                    ),
                    Segment(
                        id="v2",
                        start_ms=4500,
                        duration_ms=5500,
                        end_ms=10000,
                        name="park.jpg",
                        kind="image",
                        source="http://h/park.jpg",
                    ),
                ],
            ),
            Track(
                type="audio",
                raw_type=1,
                segments=[
                    Segment(
                        id="a1",
                        start_ms=0,
                        duration_ms=10000,
                        end_ms=10000,
                        name="lofi.mp3",
                        kind="audio",
                        volume=0.35,
                    )
                ],
            ),
            Track(
                type="text",
                raw_type=7,
                segments=[Segment(id="x1", start_ms=0, duration_ms=3000, end_ms=3000, text="Urban Dreams")],
            ),
        ],
    )
    assert timeline.exportable
    assert TRACK_TYPES == {0: "video", 1: "audio", 7: "text"}


@pytest.mark.parametrize("key", ["st", "s", "start", "startTime", "start_ms", "offset"])
def test_start_aliases(key: str) -> None:
    segment = parse_draft(draft({"tt": 0, "sg": [{key: 1500, "d": 500}]})).tracks[0].segments[0]
    assert (segment.start_ms, segment.end_ms) == (1500, 2000)


@pytest.mark.parametrize("key", ["d", "dur", "duration", "duration_ms"])
def test_duration_aliases(key: str) -> None:
    assert parse_draft(draft({"tt": 0, "sg": [{key: 2500}]})).tracks[0].segments[0].duration_ms == 2500


@pytest.mark.parametrize(
    ("keys", "field", "expected"),
    [
        *[({k: "clip.mp4"}, "name", "clip.mp4") for k in ("n", "name", "title", "filename", "label")],
        *[({k: "video"}, "kind", "video") for k in ("k", "kind", "type", "media_type")],
        ({"k": "Image/JPEG"}, "kind", "image"),
        *[({k: "http://h/a.mp4"}, "source", "http://h/a.mp4") for k in ("src", "url", "cdn_url", "source", "path")],
        *[({k: "Hello"}, "text", "Hello") for k in ("tx", "text", "content", "caption")],
        *[({k: 0.5}, "volume", 0.5) for k in ("v", "vol", "volume")],
        ({"v": 35}, "volume", 0.35),
        ({"v": 100}, "volume", 1.0),
        ({"v": 1}, "volume", 1.0),
        ({"v": 0}, "volume", 0.0),
        ({"v": 250}, "volume", None),
        ({"v": -0.5}, "volume", None),
        ({"v": True}, "volume", None),
        ({"id": "abc"}, "id", "abc"),
        ({"id": 12}, "id", "12"),
        ({"id": False}, "id", None),
        ({"n": "", "name": "second"}, "name", "second"),
        ({"n": 5, "name": "second"}, "name", "second"),
    ],
)
def test_segment_aliases(keys: dict[str, Any], field: str, expected: Any) -> None:
    segment = parse_draft(draft({"tt": 0, "sg": [keys]})).tracks[0].segments[0]
    assert getattr(segment, field) == expected


def test_first_alias_wins() -> None:
    segment = parse_draft(draft({"tt": 0, "sg": [{"st": 100, "start": 200, "n": "a", "name": "b"}]}))
    assert segment.tracks[0].segments[0].start_ms == 100
    assert segment.tracks[0].segments[0].name == "a"


def test_start_is_inferred_from_the_previous_segment_of_the_same_track() -> None:
    timeline = parse_draft(
        draft(
            {"tt": 0, "sg": [{"d": 3000}, {"d": 2000}, {"st": 10000, "d": 1000}, {"d": 500}]},
            {"tt": 7, "sg": [{"d": 1000}]},
        )
    )
    video = [(s.start_ms, s.end_ms) for s in timeline.tracks[0].segments]
    assert video == [(0, 3000), (3000, 5000), (10000, 11000), (11000, 11500)]
    assert [(s.start_ms, s.end_ms) for s in timeline.tracks[1].segments] == [(0, 1000)]
    assert timeline.duration_ms == 11500  # no "d": the last end


@pytest.mark.parametrize("bad", [-5, "1000", None, True, float("nan"), float("inf"), [1], {"a": 1}])
def test_bad_numbers_are_missing(bad: Any) -> None:
    timeline = parse_draft(draft({"tt": 0, "sg": [{"d": 1000}, {"st": bad, "d": bad}]}, d=bad))
    second = timeline.tracks[0].segments[1]
    assert (second.start_ms, second.duration_ms, second.end_ms) == (1000, 0, 1000)
    assert timeline.duration_ms == 1000


def test_float_milliseconds_are_rounded() -> None:
    timeline = parse_draft(draft({"tt": 0, "sg": [{"st": 999.6, "d": 1000.4}]}, d=2000.7))
    segment = timeline.tracks[0].segments[0]
    assert (segment.start_ms, segment.duration_ms, segment.end_ms) == (1000, 1000, 2000)
    assert timeline.duration_ms == 2001


@pytest.mark.parametrize(
    ("tt", "track_type", "raw"),
    [
        (0, "video", 0),
        (1, "audio", 1),
        (7, "text", 7),
        (3, "other", 3),
        (7.0, "text", 7),
        ("1", "audio", 1),
        ("video", "video", None),
        (True, "other", None),
        (None, "other", None),
    ],
)
def test_track_types(tt: Any, track_type: str, raw: int | None) -> None:
    track = parse_draft(draft({"tt": tt, "sg": []})).tracks[0]
    assert (track.type, track.raw_type) == (track_type, raw)


def test_canvas_comes_from_metadata_else_the_canvas_config() -> None:
    canvas = {"width": 1920, "height": 1080}
    assert (parse_draft(EXAMPLE, canvas).width, parse_draft(EXAMPLE, canvas).height) == (1080, 1920)
    bare = draft({"tt": 0, "sg": [{"d": 1}]})
    assert (parse_draft(bare, canvas).width, parse_draft(bare, canvas).height) == (1920, 1080)
    assert parse_draft(bare).width is None
    assert parse_draft(draft(m={"width": 0, "height": 5})).width is None


def test_long_spellings_and_a_json_string_draft() -> None:
    long = {
        "tracks": [{"type": 7, "segments": [{"text": "Hi", "duration": 1000}]}],
        "metadata": {"title": "x"},
    }
    timeline = parse_draft(long)
    assert timeline.tracks[0].type == "text"
    assert timeline.tracks[0].segments[0].text == "Hi"
    assert timeline.title == "x"
    assert parse_draft(json.dumps(EXAMPLE)) == parse_draft(EXAMPLE)


@pytest.mark.parametrize(
    "garbage",
    [None, 0, 1.5, True, "", "not json", "[1]", [], [EXAMPLE], {"t": 5}, {"t": [1, None, "x", []]}],
)
def test_garbage_gives_an_empty_timeline(garbage: Any) -> None:
    timeline = parse_draft(garbage)
    assert timeline.duration_ms == 0
    assert timeline.tracks == []
    assert not timeline.exportable
    assert summarize(timeline) == "The timeline is empty."


def test_non_object_segments_are_skipped_and_unknown_keys_ignored() -> None:
    timeline = parse_draft(draft({"tt": 0, "sg": [1, "x", None, {"d": 1000, "zz": [1]}]}))
    assert len(timeline.tracks[0].segments) == 1


def test_parse_does_not_mutate_the_draft() -> None:
    before = json.dumps(EXAMPLE)
    parse_draft(EXAMPLE, {"width": 1, "height": 2})
    assert json.dumps(EXAMPLE) == before


# --- exportable ------------------------------------------------------------------------------


def test_exportable() -> None:
    assert is_exportable(EXAMPLE)
    assert not is_exportable(draft({"tt": 0, "sg": []}, {"tt": 7}))
    assert is_exportable(draft({"tt": 0, "sg": []}, {"tt": 9, "sg": [{}]}))
    assert not is_exportable(None)
    assert not is_exportable({})
    # It is part of the structured output.
    assert StateResult.of("1", parse_draft(EXAMPLE)).model_dump()["exportable"] is True


# --- summary ---------------------------------------------------------------------------------


def test_summary_of_the_api_notes_example() -> None:
    notes = draft(
        {"tt": 0, "sg": [{"st": 0, "d": 10000, "n": "city timelapse"}]},
        {"tt": 1, "sg": [{"st": 0, "d": 10000, "n": "Lo-fi", "v": 0.35}]},
        {"tt": 7, "sg": [{"st": 0, "d": 3000, "tx": "Urban Dreams"}]},
        d=10000,
        m={"width": 1080, "height": 1920},
    )
    assert summarize(parse_draft(notes)) == (
        "Timeline: 10s, 1080x1920, 3 tracks\n"
        "1. Video: city timelapse (0-10s)\n"
        "2. BGM: Lo-fi (0-10s, 35%)\n"
        '3. Title: "Urban Dreams" (0-3s)'
    )


def test_summary_fallback_names_and_other_tracks() -> None:
    timeline = parse_draft(
        draft(
            {"tt": 0, "sg": [{"d": 2500, "k": "image"}, {"d": 1250}]},
            {"tt": 1, "sg": [{"d": 3750}]},
            {"tt": 7, "sg": [{"d": 1000, "tx": "Line one\nline   two"}]},
            {"tt": 4, "sg": [{"d": 1000, "n": "sticker"}, {"d": 1000, "tx": "caption"}, {"d": 49}]},
            {"sg": [{"d": 1000}]},
        )
    )
    assert summarize(timeline) == (
        "Timeline: 3.8s, 5 tracks\n"
        "1. Video: image (0-2.5s)\n"
        "2. Video: clip (2.5-3.8s)\n"
        "3. BGM: audio (0-3.8s)\n"
        '4. Title: "Line one line two" (0-1s)\n'
        "5. Track 4: sticker (0-1s)\n"
        "6. Track 4: caption (1-2s)\n"
        "7. Track 4: segment (2-2s)\n"
        "8. Track: segment (0-1s)"
    )


@pytest.mark.parametrize(
    ("ms", "shown"),
    [(0, "0s"), (10000, "10s"), (2500, "2.5s"), (2949, "2.9s"), (2950, "3s"), (999, "1s"), (60, "0.1s")],
)
def test_seconds_formatting(ms: int, shown: str) -> None:
    timeline = parse_draft(draft({"tt": 0, "sg": [{"d": 1}]}, d=ms))
    assert summarize(timeline).splitlines()[0] == f"Timeline: {shown}, 1 track"


def test_summary_of_tracks_without_segments_is_empty() -> None:
    assert summarize(parse_draft(draft({"tt": 0, "sg": []}, d=5000))) == "The timeline is empty."


def test_long_titles_are_shortened() -> None:
    line = summarize(parse_draft(draft({"tt": 7, "sg": [{"d": 1000, "tx": "word " * 40}]}))).splitlines()[1]
    assert line.startswith('1. Title: "word word')
    assert line.endswith('…" (0-1s)')
    assert len(line) < 110


# --- diff ------------------------------------------------------------------------------------


def changed(mutate: Any, base: dict[str, Any] | None = None) -> list[str]:
    before = copy.deepcopy(base if base is not None else EXAMPLE)
    after = copy.deepcopy(before)
    mutate(after)
    return diff(before, after)


def test_same_drafts_have_no_differences() -> None:
    assert diff(EXAMPLE, copy.deepcopy(EXAMPLE)) == []
    assert diff(None, None) == []
    assert diff(None, {}) == []


def test_diff_a_whole_track_added_or_removed() -> None:
    no_text = copy.deepcopy(EXAMPLE)
    del no_text["t"][2]
    assert diff(no_text, EXAMPLE) == ["Added text track 'Urban Dreams' 0-3s"]
    assert diff(EXAMPLE, no_text) == ["Removed text track 'Urban Dreams'"]


def test_diff_everything_from_an_empty_draft() -> None:
    assert diff(None, EXAMPLE) == [
        "Added video track 'city.jpg' 0-5.5s, 'park.jpg' 4.5-10s",
        "Added audio track 'lofi.mp3' 0-10s",
        "Added text track 'Urban Dreams' 0-3s",
        "Duration 0s → 10s",
        "Canvas set to 1080x1920",
        "Project title set to 'project'",
    ]


def test_diff_empty_tracks() -> None:
    base = draft({"tt": 0, "sg": [{"d": 1000}]}, d=1000)
    assert changed(lambda d: d["t"].append({"tt": 1, "sg": []}), base) == ["Added empty audio track"]
    with_empty_audio = draft({"tt": 0, "sg": [{"d": 1000}]}, {"tt": 1}, d=1000)
    assert diff(with_empty_audio, base) == ["Removed empty audio track"]


def test_diff_added_segments() -> None:
    def add(d: dict[str, Any]) -> None:
        d["t"][0]["sg"].append({"id": "v3", "st": 10000, "d": 3000, "n": "beach.jpg"})
        d["t"][2]["sg"].append({"id": "x2", "st": 7000, "d": 3000, "tx": "The End"})
        d["t"][1]["sg"].append({"id": "a2", "st": 10000, "d": 3000, "n": "outro.mp3", "v": 0.5})

    assert changed(add) == [
        "Added video 'beach.jpg' (10-13s)",
        "Added background music 'outro.mp3' (10-13s, 50%)",
        "Added title 'The End' (7-10s)",
    ]


def test_diff_removed_segment() -> None:
    assert changed(lambda d: d["t"][0]["sg"].pop(0)) == ["Removed video 'city.jpg'"]


def test_diff_changed_title_text() -> None:
    def retitle(d: dict[str, Any]) -> None:
        d["t"][2]["sg"][0]["tx"] = "City Nights"

    assert changed(retitle) == ["Title 'Urban Dreams' → 'City Nights'"]


def test_diff_volume() -> None:
    def quieter(d: dict[str, Any]) -> None:
        d["t"][1]["sg"][0]["v"] = 0.2

    assert changed(quieter) == ["Background music volume 35% → 20%"]
    assert changed(lambda d: d["t"][1]["sg"][0].pop("v")) == ["Background music volume 35% → default"]
    base = copy.deepcopy(EXAMPLE)
    del base["t"][1]["sg"][0]["v"]
    assert changed(quieter, base) == ["Background music volume set to 20%"]


def test_diff_timing() -> None:
    def shorter(d: dict[str, Any]) -> None:
        d["t"][0]["sg"][0]["d"] = 4000

    assert changed(shorter) == ["Video 'city.jpg' now 0-4s (was 0-5.5s)"]


def test_diff_duration_and_canvas() -> None:
    def landscape(d: dict[str, Any]) -> None:
        d["d"] = 15000
        d["m"] = {"title": "project", "width": 1920, "height": 1080}

    assert changed(landscape) == ["Duration 10s → 15s", "Canvas 1080x1920 → 1920x1080"]


def test_diff_replaced_clip_without_ids_is_matched_by_position() -> None:
    base = draft({"tt": 0, "sg": [{"d": 3000, "n": "city.jpg"}, {"d": 3000, "n": "park.jpg"}]}, d=6000)

    def replace(d: dict[str, Any]) -> None:
        d["t"][0]["sg"][1]["n"] = "beach.jpg"

    assert changed(replace, base) == ["Video 'park.jpg' → 'beach.jpg'"]


def test_diff_different_ids_at_the_same_place_are_different_segments() -> None:
    def replace(d: dict[str, Any]) -> None:
        d["t"][0]["sg"][1] = {"id": "v9", "st": 4500, "d": 5500, "n": "forest.jpg"}

    assert changed(replace) == ["Removed video 'park.jpg'", "Added video 'forest.jpg' (4.5-10s)"]


def test_diff_matches_ids_across_reordering() -> None:
    def swap(d: dict[str, Any]) -> None:
        first, second = d["t"][0]["sg"]
        first["st"], second["st"] = 5000, 0
        d["t"][0]["sg"] = [second, first]

    assert changed(swap) == [
        "Video 'park.jpg' now 0-5.5s (was 4.5-10s)",
        "Video 'city.jpg' now 5-10.5s (was 0-5.5s)",
    ]


def test_diff_segment_moved_to_another_track_by_id() -> None:
    def move(d: dict[str, Any]) -> None:
        d["t"][2]["sg"].append(d["t"][0]["sg"].pop(1))

    assert changed(move) == ["Moved video 'park.jpg' to the text track"]


def test_diff_other_tracks_and_source_change() -> None:
    base = draft({"tt": 4, "sg": [{"id": "s1", "d": 1000, "n": "star"}]}, {"tt": 0, "sg": [{"src": "a", "d": 1}]})

    def edit(d: dict[str, Any]) -> None:
        d["t"][0]["sg"].append({"d": 500, "n": "heart"})
        d["t"][1]["sg"][0]["src"] = "b"

    assert changed(edit, base) == [
        "Added track 4 segment 'heart' (1-1.5s)",
        "Video 'clip' now uses a different source",
        "Duration 1s → 1.5s",  # no "d": the end of the last segment
    ]


def test_diff_ignores_the_order_of_tracks_of_different_types() -> None:
    assert changed(lambda d: d["t"].reverse()) == []


def test_diff_is_deterministic() -> None:
    def shuffle(d: dict[str, Any]) -> None:
        d["t"][0]["sg"].reverse()
        d["t"][0]["sg"].append({"d": 700, "n": "x"})
        d["t"].insert(0, {"tt": 7, "sg": [{"tx": "New", "d": 100}]})
        del d["t"][2]["sg"][0]["id"]

    first = changed(shuffle)
    assert first
    assert all(changed(shuffle) == first for _ in range(5))
