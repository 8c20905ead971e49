"""The draft as the editor sees it: items on the video track, texts, music, and the layout rules.

Everything is written through ``draft.edit.Editable`` with the keys of docs/draft-format.md.
The layout is derived, never asked for: items play end to end, consecutive items overlap by
the crossfade (``xf``, never more than a quarter of the shorter item), the music spans the
whole video, texts end with it, and ``d`` is where the video ends. ``relayout`` re-derives all
of that after every operation, so an operation only states what it means to change.
"""

from __future__ import annotations

from typing import Any, Final

from nemo_mcp.draft import keys
from nemo_mcp.draft import media as formats
from nemo_mcp.draft.edit import Editable, duration, end, start
from nemo_mcp.local.editor.media import Facts, Media
from nemo_mcp.local.editor.replies import Item

VIDEO, AUDIO, TEXT = keys.TRACK_VIDEO, keys.TRACK_AUDIO, keys.TRACK_TEXT
DEFAULT_CROSSFADE_MS: Final = 1000
CANVASES: Final = {"portrait": (1080, 1920), "landscape": (1920, 1080), "square": (1080, 1080)}


class Project:
    """A private copy of a draft being edited, with the project's media."""

    def __init__(self, draft: dict[str, Any], media: Media) -> None:
        self.edit = Editable(draft)
        self.media = media

    @property
    def draft(self) -> dict[str, Any]:
        return self.edit.draft

    @property
    def meta(self) -> dict[str, Any]:
        return self.edit.meta

    # -- what is on the timeline ------------------------------------------------------------

    @property
    def video(self) -> list[dict[str, Any]]:
        return self.edit.segments(VIDEO)

    def track(self, track_type: int) -> dict[str, Any]:
        """The first track of this type, created when there is none."""
        track = self.edit.track(track_type, create=True)
        assert track is not None
        return track

    def set_video(self, segments: list[dict[str, Any]]) -> None:
        self.track(VIDEO)["sg"] = segments
        self.edit.drop_empty_tracks()

    @property
    def texts(self) -> list[dict[str, Any]]:
        """Text items in the order they appear (then in track order)."""
        return sorted(self.edit.segments(TEXT), key=start)

    def drop(self, track_type: int, segments: list[dict[str, Any]]) -> None:
        track = self.edit.track(track_type)
        if track is not None:
            track["sg"] = [s for s in track["sg"] if not any(s is gone for gone in segments)]
        self.edit.drop_empty_tracks()

    @property
    def music(self) -> list[dict[str, Any]]:
        return self.edit.segments(AUDIO)

    def kind(self, seg: dict[str, Any]) -> str:
        """image, gif, video or color."""
        kind = keys.read_kind(seg) or ""
        if kind == "image":
            name = keys.read_text(seg, keys.NAME) or keys.read_text(seg, keys.SOURCE) or ""
            return "gif" if formats.extension(name) == "gif" else "image"
        return kind

    def facts(self, seg: dict[str, Any]) -> Facts:
        return self.media.facts(str(seg.get("src") or ""), self.kind(seg))

    def label(self, seg: dict[str, Any]) -> Item:
        name = keys.read_text(seg, keys.NAME) or formats.file_name(str(seg.get("src", "")))
        return Item(self.kind(seg), name)

    def canvas(self) -> tuple[int, int]:
        width, height = keys.read_ms(self.meta, keys.WIDTH), keys.read_ms(self.meta, keys.HEIGHT)
        return (width, height) if width and height else CANVASES["portrait"]

    def crossfade_ms(self) -> int:
        found = keys.read_ms(self.meta, keys.CROSSFADE)
        return DEFAULT_CROSSFADE_MS if found is None else found

    def total_ms(self) -> int:
        return self.edit.end(VIDEO)

    # -- the derived layout -----------------------------------------------------------------

    def relayout(self) -> None:
        """Re-derive starts, overlaps, the music's span and ``d``; texts past the end go."""
        crossfade = self.crossfade_ms()
        cursor, previous = 0, None
        for seg in self.video:
            length = duration(seg)
            if previous is not None:
                cursor -= min(crossfade, duration(previous) // 4, length // 4)
            seg["st"] = cursor
            cursor += length
            previous = seg
        total = self.total_ms()
        if not total:
            self.draft["d"] = max((end(s) for tt in (AUDIO, TEXT) for s in self.edit.segments(tt)), default=0)
            return
        for seg in self.music:
            seg["st"], seg["d"] = 0, total
        self.drop(TEXT, [seg for seg in self.edit.segments(TEXT) if start(seg) >= total])
        for seg in self.edit.segments(TEXT):
            seg["d"] = min(duration(seg), total - start(seg))
        for holder in (self.meta, *self.music):
            for key in ("fi", "fo"):
                if isinstance(holder.get(key), int | float):
                    holder[key] = min(int(holder[key]), total // 2)
        self.draft["d"] = total
