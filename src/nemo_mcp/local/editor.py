"""A deterministic, rule-based stand-in for the cloud editing agent.

``LocalEditor.edit`` reads a plain instruction (English, plus the common
Chinese words), applies every command it recognises to a copy of the draft and
answers like a cloud agent would. Commands, and the ``tool_name`` each reports:

=====================================================  ====================
instruction (examples)                                 tool_name
=====================================================  ====================
"turn my images into an animated video", "slideshow"   ``edit_multitrack``
"make each image 4 seconds", "make it 15 seconds long" ``edit_multitrack``
"portrait" / "landscape" / "square"                    ``set_canvas``
"add the title 'Urban Dreams'"                         ``add_title``
"make the title last 5 seconds"                        ``set_title_duration``
"remove the title"                                     ``remove_title``
"add background music", "... music at 30%"             ``add_music``
"set the music volume to 20%"                          ``set_music_volume``
"remove the music"                                     ``remove_music``
"undo"                                                 ``undo``
=====================================================  ====================

Several commands in one instruction report ``edit_multitrack`` with
``tool_args = {"commands": [...]}``; one command reports its own name with
``tool_args = {"action": ..., **args}``. When nothing changed (nothing
understood, nothing applicable, or only a question about export/upload),
``tool_name`` is ``""`` and the draft comes back with the same content.

The timeline written follows docs/draft-format.md: the video track (tt 0) is a
row of segments overlapping by 1000 ms where both neighbours last 2 s or more
(the renderer turns overlaps into crossfades); ``d`` is the end of the video
track; music (tt 1) spans the video; titles (tt 7) are clipped to it.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nemo_mcp.apiserver import EditRequest, EditResult
from nemo_mcp.errors import NemoError
from nemo_mcp.local.probe import MediaInfo, probe

log = logging.getLogger(__name__)

Resolver = Callable[[str], Path | None]

DEFAULT_IMAGE_MS = 3000
DEFAULT_TITLE_MS = 3000
DEFAULT_MUSIC_VOLUME = 0.5
CROSSFADE_MS = 1000
MIN_CROSSFADE_SEGMENT_MS = 2000
MIN_IMAGE_MS = 500
MAX_TOTAL_MS = 10 * 60_000
FALLBACK_CLIP_MS = 5000
CANVASES = {"portrait": (1080, 1920), "landscape": (1920, 1080), "square": (1080, 1080)}


@dataclass(frozen=True)
class Command:
    action: str
    args: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, **self.args}


TOOL_NAMES = {
    "slideshow": "edit_multitrack",
    "image_duration": "edit_multitrack",
    "total_duration": "edit_multitrack",
    "set_canvas": "set_canvas",
    "add_title": "add_title",
    "title_duration": "set_title_duration",
    "remove_title": "remove_title",
    "add_music": "add_music",
    "set_music_volume": "set_music_volume",
    "remove_music": "remove_music",
    "undo": "undo",
}

HELP = (
    "Sorry, I didn't catch that. Here's what I can do on this timeline:\n"
    '• turn your uploaded images and clips into an animated video ("make a slideshow")\n'
    '• add, change or remove a title ("add the title \'Urban Dreams\'", "make the title last 5 seconds")\n'
    '• add or remove background music and set its volume ("add background music at 30%")\n'
    '• change timing ("make each image 4 seconds", "make it 15 seconds long")\n'
    "• switch the format to portrait, landscape or square\n"
    "• undo the last change\n"
    "Upload media first, then tell me what to make; export when you're happy with it."
)

# ---------------------------------------------------------------------------
# Parsing.

# A single quote opens only where no letter precedes it and closes only where no letter follows,
# so apostrophes (it's, don't) stay inside the title.
_QUOTES = re.compile(
    r"(?<![\w])'(?P<a>(?:[^'\n]|(?<=\w)'(?=\w))+?)'(?![\w])"
    r'|"(?P<b>[^"\n]+?)"'
    r"|“(?P<c>[^”\n]+?)”|‘(?P<d>[^’\n]+?)’|「(?P<e>[^」\n]+?)」|『(?P<f>[^』\n]+?)』"
)
_QUOTE_MARK = "\ue000"  # private-use characters: never a keyword, digit or separator
_QUOTE_BASE = 0xE100
_SPLIT = re.compile(
    r"\s*(?:[,;!?\n，。；！？、]|(?<!\d)\.|\.(?!\d)|\band\b|\bwith\b|\bthen\b|\balso\b|\bplus\b"
    r"|并且|然后|并|再|还有|以及|同时|和)\s*",
    re.IGNORECASE,
)
_WORD_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "half": 0.5,
}  # fmt: skip
_NUM = r"(\d+(?:\.\d+)?|" + "|".join(sorted(_WORD_NUMBERS, key=len, reverse=True)) + r")"
_SECONDS = re.compile(rf"(?<![A-Za-z0-9.]){_NUM}\s*-?\s*(s|secs?|seconds?|秒|min|mins|minutes?|分钟)(?![a-z])", re.I)
_PERCENT = re.compile(rf"(?<![A-Za-z0-9.]){_NUM}\s*(%|percent|pct\b)|百分之\s*(\d+)", re.I)
_FRACTION = re.compile(r"\b(?:volume|level)\s*(?:to|at|of|=)?\s*(0?\.\d+|1\.0|0|1)\b(?!\s*%)", re.I)


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_UNDO = _rx(r"\bundo\b|\brevert\b|\bgo back\b|撤销|撤回|还原")
_TITLE = _rx(r"\b(titles?|heading|caption)\b|标题|字幕")
_MUSIC = _rx(r"\b(music|bgm|soundtrack|song|background audio|audio track)\b|音乐|配乐|背景乐|bgm")
_VOLUME = _rx(r"\b(volume|level|loud|quiet)\b|音量")
_REMOVE = _rx(
    r"\b(remove|delete|drop|clear|erase|get rid of|take (?:off|out|away)|no|without|mute|lose)\b"
    r"|删除|删掉|去掉|去除|移除|取消|不要"
)
_ADD = _rx(
    r"\b(add|put|insert|include|use|set|change|rename|give|want|need|show|display|write|place)\b|加|添加|设置|改"
)
_EACH_IMAGE = _rx(
    r"\b(each|every|per)\s+(image|photo|picture|pic|slide|still|shot)s?\b|\b(images?|photos?|pictures?|slides?)\b.*\beach\b|每张|每个|每幅"
)
_TOTAL = _rx(
    r"\b(it|video|movie|total|whole|overall|long|length|duration|timeline|everything|reel)\b|时长|总长|视频|长"
)
_PORTRAIT = _rx(r"\b(portrait|vertical)\b|9\s*[:x]\s*16|竖屏|竖版")
_LANDSCAPE = _rx(r"\b(landscape|horizontal|widescreen)\b|16\s*[:x]\s*9|横屏|横版")
_SQUARE = _rx(r"\bsquare\b|(?<!\d)1\s*[:x]\s*1(?!\d)|正方形|方形|方屏")
_SLIDESHOW = _rx(
    r"\b(slide ?shows?|animate[ds]?|animation|animated)\b"
    r"|\b(turn|make|convert)\b.*\binto\b.*\b(video|movie|reel|clip)\b"
    r"|\b(create|make|build|generate|produce)\s+(a|an|my|me a)\s+(video|movie|reel|montage)\b"
    r"|\b(put|place|add)\b.*\b(all|everything|uploads?|images|photos|clips)\b.*\b(timeline|video track)\b"
    r"|幻灯片|动画|做成视频|生成视频|制作视频|合成视频"
)
_EXPORT = _rx(r"\b(export|render|download)\b|导出|渲染|下载")
_UPLOAD = _rx(r"\bupload(?:ed|s|ing)?\b|上传")
_UNQUOTED_TITLE = _rx(
    r"(?:\btitles?\b|标题)\s*"
    r"(?:to\b|as\b|:|：|saying\b|that says\b|reading\b|called\b|named\b|为|是|叫)?\s*(.+)$"
)
_FILLER = {"", "it", "the", "a", "an", "this", "that", "please", "too", "now", "here", "there", "text"}


def _number(token: str) -> float:
    return _WORD_NUMBERS[token.lower()] if token.lower() in _WORD_NUMBERS else float(token)


def _seconds_ms(match: re.Match[str]) -> int:
    value = _number(match.group(1))
    unit = match.group(2).lower()
    factor = 60_000 if unit.startswith("min") or unit == "分钟" else 1000
    return round(value * factor)


def _percent(clause: str) -> float | None:
    if match := _PERCENT.search(clause):
        value = _number(match.group(1)) if match.group(1) else float(match.group(3))
        return max(0.0, min(value / 100, 1.0))  # the draft reads volumes above 1 as percent
    if match := _FRACTION.search(clause):
        return max(0.0, min(float(match.group(1)), 1.0))
    return None


def _mask_quotes(text: str) -> tuple[str, list[str]]:
    quotes: list[str] = []

    def keep(match: re.Match[str]) -> str:
        quotes.append(next(group for group in match.groups() if group is not None).strip())
        return f" {_QUOTE_MARK}{chr(_QUOTE_BASE + len(quotes) - 1)} "

    return _QUOTES.sub(keep, text), quotes


def _quoted(clause: str, quotes: list[str]) -> str | None:
    index = clause.find(_QUOTE_MARK)
    if index < 0 or index + 1 >= len(clause):
        return None
    return quotes[ord(clause[index + 1]) - _QUOTE_BASE]


def parse_instruction(text: str) -> list[Command]:
    """The commands an instruction asks for, in the order the editor applies them."""
    masked, quotes = _mask_quotes(text)
    found: list[Command] = []
    subject = ""
    for clause in (c.strip() for c in _SPLIT.split(masked)):
        if not clause:
            continue
        found.extend(_clause_commands(clause, quotes, subject))
        if _TITLE.search(clause):
            subject = "title"
        elif _MUSIC.search(clause):
            subject = "music"
        elif _EACH_IMAGE.search(clause) or _SLIDESHOW.search(clause):
            subject = "video"
    return _ordered(found)


def _clause_commands(clause: str, quotes: list[str], subject: str) -> Iterator[Command]:
    if _UNDO.search(clause):
        yield Command("undo")
        return
    seconds = _SECONDS.search(clause)
    if _SLIDESHOW.search(clause):
        yield Command("slideshow")
    for name, pattern in (("portrait", _PORTRAIT), ("landscape", _LANDSCAPE), ("square", _SQUARE)):
        if pattern.search(clause):
            width, height = CANVASES[name]
            yield Command("set_canvas", {"format": name, "width": width, "height": height})
            break
    mentions_title = bool(_TITLE.search(clause))
    # "add the title 'X' and make it last 5 seconds": the pronoun still means the title.
    pronoun_title = subject == "title" and bool(re.search(r"\b(it|its|that)\b|它", clause, re.I))
    if mentions_title and _REMOVE.search(clause) and not _quoted(clause, quotes):
        yield Command("remove_title")
        return
    if mentions_title:
        text = _quoted(clause, quotes)
        if text is None and not seconds:
            text = _unquoted_title(clause)
        if text is not None:
            yield Command("add_title", {"text": text})
        elif not seconds:
            yield Command("add_title", {"text": None})
    if pronoun_title and not mentions_title and re.search(r"\b(long|total|video)\b|视频|总", clause, re.I):
        pronoun_title = False  # "... and make it 15 seconds long" is about the video
    if seconds and (mentions_title or pronoun_title) and not _EACH_IMAGE.search(clause):
        yield Command("title_duration", {"ms": _seconds_ms(seconds)})
        seconds = None
    if _MUSIC.search(clause) or (subject == "music" and _VOLUME.search(clause)):
        volume = _percent(clause)
        if _REMOVE.search(clause) and not volume:
            yield Command("remove_music")
        elif _VOLUME.search(clause) and volume is not None and not re.search(r"\b(add|background)\b|加", clause, re.I):
            yield Command("set_music_volume", {"volume": volume})
        else:
            yield Command("add_music", {"volume": volume})
        return
    if seconds and _EACH_IMAGE.search(clause):
        yield Command("image_duration", {"ms": _seconds_ms(seconds)})
    elif seconds and (_TOTAL.search(clause) or subject == "video"):
        yield Command("total_duration", {"ms": _seconds_ms(seconds)})
    if _EXPORT.search(clause):
        yield Command("export")
    if _UPLOAD.search(clause):
        yield Command("upload")


def _unquoted_title(clause: str) -> str | None:
    if not (_ADD.search(clause) or re.match(r"^(the |a |new )?title\b", clause, re.I)):
        return None
    match = _UNQUOTED_TITLE.search(clause)
    if not match:
        return None
    text = match.group(1).strip().strip(".!?:;,\"'").strip()
    text = re.sub(r"^(the|a)\s+", "", text, flags=re.I) if text.lower().startswith(("the ", "a ")) else text
    return None if text.lower() in _FILLER or _QUOTE_MARK in text else text


_ORDER = [
    "undo", "slideshow", "set_canvas", "image_duration", "total_duration", "add_title",
    "title_duration", "remove_title", "add_music", "set_music_volume", "remove_music", "export", "upload",
]  # fmt: skip


def _ordered(commands: list[Command]) -> list[Command]:
    """One command per action (the last one said wins), in a fixed order: build first, then adjust."""
    latest: dict[str, Command] = {}
    for command in commands:
        latest[command.action] = command
    if "remove_title" in latest and "add_title" in latest:
        latest.pop("remove_title")
    return [latest[action] for action in _ORDER if action in latest]


# ---------------------------------------------------------------------------
# Applying.


class _NotApplicable(Exception):
    """A recognised command that cannot apply to this timeline; the message tells the user why."""


def _fmt_s(ms: float) -> str:
    return f"{ms / 1000:.1f}".rstrip("0").rstrip(".") + " s"


def _pct(volume: float) -> str:
    return f"{round(volume * 100)}%"


class _Timeline:
    """A draft being edited; every method works on the caller's private copy."""

    def __init__(self, draft: dict[str, Any]) -> None:
        self.draft = draft
        if not isinstance(draft.get("t"), list):
            draft["t"] = []
        if not isinstance(draft.get("m"), dict):
            draft["m"] = {}

    def track(self, track_type: int, *, create: bool = False) -> dict[str, Any] | None:
        for track in self.draft["t"]:
            if isinstance(track, dict) and track.get("tt") == track_type:
                if not isinstance(track.get("sg"), list):
                    track["sg"] = []
                return track
        if not create:
            return None
        track = {"tt": track_type, "sg": []}
        self.draft["t"].append(track)
        order: dict[Any, int] = {0: 0, 1: 1, 7: 2}
        self.draft["t"].sort(key=lambda t: order.get(t.get("tt"), 3) if isinstance(t, dict) else 4)
        return track

    def segments(self, track_type: int) -> list[dict[str, Any]]:
        track = self.track(track_type)
        return [seg for seg in track["sg"] if isinstance(seg, dict)] if track else []

    def drop_track(self, track_type: int) -> int:
        removed = len(self.segments(track_type))
        self.draft["t"] = [t for t in self.draft["t"] if not (isinstance(t, dict) and t.get("tt") == track_type)]
        return removed

    def next_id(self, prefix: str) -> str:
        used = {
            str(seg.get("id"))
            for track in self.draft["t"]
            if isinstance(track, dict)
            for seg in track.get("sg") or []
            if isinstance(seg, dict)
        }
        number = 1
        while f"{prefix}{number}" in used:
            number += 1
        return f"{prefix}{number}"

    def video_end(self) -> int:
        return max((_int(seg.get("st")) + _int(seg.get("d")) for seg in self.segments(0)), default=0)

    def layout(self) -> None:
        """Place video segments end to end, overlapping by a crossfade where both sides are long enough."""
        cursor = 0
        previous: dict[str, Any] | None = None
        for seg in self.segments(0):
            length = _int(seg.get("d"))
            if previous is not None and min(_int(previous.get("d")), length) >= MIN_CROSSFADE_SEGMENT_MS:
                cursor -= CROSSFADE_MS
            seg["st"] = cursor
            cursor += length
            previous = seg

    def finish(self, old_total: int) -> None:
        """Re-derive the dependent values: layout, ``d``, music span, titles within the video."""
        self.layout()
        total = self.video_end()
        if total > 0:
            for seg in self.segments(1):
                start = _int(seg.get("st"))
                end = start + _int(seg.get("d"))
                # Music that spanned the whole video keeps spanning it when the video grows.
                if start == 0 and (end >= old_total or end > total):
                    seg["d"] = total
                elif end > total:
                    seg["d"] = max(0, total - start)
            for track_type in (1, 7):
                track = self.track(track_type)
                clipped = False
                for seg in self.segments(track_type):
                    start = _int(seg.get("st"))
                    if start + _int(seg.get("d")) > total:
                        seg["d"] = max(0, total - start)
                        clipped = True
                if track is not None and clipped:
                    # Whatever now lies wholly past the video's end goes, and so does a track left empty.
                    track["sg"] = [s for s in track["sg"] if not isinstance(s, dict) or _int(s.get("d")) > 0]
                    if not track["sg"]:
                        self.drop_track(track_type)
        else:
            total = max((_int(s.get("st")) + _int(s.get("d")) for tt in (1, 7) for s in self.segments(tt)), default=0)
        self.draft["d"] = total


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(value)


_EXTENSION_KINDS = {
    **dict.fromkeys(("jpg", "jpeg", "png", "gif", "webp"), "image"),
    **dict.fromkeys(("mp4", "mov", "avi", "webm", "mkv"), "video"),
    **dict.fromkeys(("mp3", "wav", "m4a", "aac"), "audio"),
}


def _kind(upload: Mapping[str, Any]) -> str:
    kind = upload.get("file_type")
    if isinstance(kind, str) and kind:
        return kind
    name = str(upload.get("filename") or upload.get("cdn_url") or "")
    return _EXTENSION_KINDS.get(name.rsplit(".", 1)[-1].lower(), "")


class LocalEditor:
    """The editor behind the local backend's ``/run_sse``: plain instructions to timeline edits."""

    def __init__(self, resolve: Resolver, *, probe_media: Callable[[Path], MediaInfo] = probe) -> None:
        self._resolve = resolve
        self._probe = probe_media

    def edit(self, request: EditRequest) -> EditResult:
        """Apply the instruction to a copy of the draft. Blocks (it may probe media): run in a thread."""
        draft, uploads = request.draft, request.uploads
        original = copy.deepcopy(draft) if isinstance(draft, dict) else {}
        commands = parse_instruction(request.instruction or "")
        log.debug("session %s: %r -> %s", request.session_id, request.instruction, commands)
        if not commands:
            return EditResult(copy.deepcopy(original), HELP, "", {})
        if commands[0].action == "undo":
            return self._undo(original, request.history)

        # Compare against the draft as this editor would lay it out, so that filling in keys it
        # lacks ("t", "m", "d") does not count as a change.
        baseline = _Timeline(copy.deepcopy(original))
        old_total = baseline.video_end()
        baseline.finish(old_total)
        work = _Timeline(copy.deepcopy(original))
        done: list[tuple[Command, str]] = []
        notes: list[str] = []
        for command in commands:
            try:
                message = self._apply(work, command, uploads)
            except _NotApplicable as reason:
                notes.append(str(reason))
                continue
            if message is None:
                continue
            done.append((command, message))
        work.finish(old_total)
        new = work.draft
        info = [c for c in commands if c.action in {"export", "upload"}]
        changed = new != baseline.draft
        if not changed:
            reply = " ".join(notes) or ""
            if not reply and info:
                reply = self._info_reply(info, uploads)
            elif not reply:
                reply = "That's already how the timeline looks — nothing to change."
            elif info:
                reply += " " + self._info_reply(info, uploads)
            return EditResult(copy.deepcopy(original), reply, "", {"commands": [c.as_dict() for c in commands]})

        parts = [message for _, message in done] + notes
        parts.append(f"The video is now {_fmt_s(_int(new.get('d')))} long.")
        if info:
            parts.append(self._info_reply(info, uploads))
        elif len(done) > 0:
            parts.append("Have a look, and export when you're happy with it!")
        applied = [command for command, _ in done]
        if len(applied) == 1:
            tool_name = TOOL_NAMES.get(applied[0].action, "edit_multitrack")
            tool_args = applied[0].as_dict()
        else:
            tool_name, tool_args = "edit_multitrack", {"commands": [c.as_dict() for c in applied]}
        return EditResult(new, "Done! " + " ".join(parts), tool_name, tool_args)

    # -- history -------------------------------------------------------------

    @staticmethod
    def _undo(current: dict[str, Any], history: list[dict[str, Any]]) -> EditResult:
        # The server keeps the history (it pushes every changed draft); undo hands back the last one.
        if not history:
            return EditResult(current, "There's nothing to undo yet — the timeline is unchanged.", "", {})
        previous = history[-1]
        length = _fmt_s(_int(previous.get("d")))
        return EditResult(
            copy.deepcopy(previous),
            f"Undone! The timeline is back to how it was before the last change ({length}).",
            "undo",
            {"action": "undo"},
            reverted=True,
        )

    # -- commands ------------------------------------------------------------

    def _apply(self, tl: _Timeline, command: Command, uploads: list[dict[str, Any]]) -> str | None:
        args = command.args
        match command.action:
            case "slideshow":
                return self._slideshow(tl, uploads)
            case "set_canvas":
                meta = tl.draft["m"]
                meta["width"], meta["height"] = args["width"], args["height"]
                return f"Switched the canvas to {args['format']} ({args['width']}x{args['height']})."
            case "image_duration":
                return self._image_duration(tl, int(args["ms"]))
            case "total_duration":
                return self._total_duration(tl, int(args["ms"]))
            case "add_title":
                return self._add_title(tl, args.get("text"))
            case "title_duration":
                return self._title_duration(tl, int(args["ms"]))
            case "remove_title":
                if not tl.drop_track(7):
                    raise _NotApplicable("There's no title to remove.")
                return "Removed the title."
            case "add_music":
                return self._add_music(tl, uploads, args.get("volume"))
            case "set_music_volume":
                return self._music_volume(tl, uploads, float(args["volume"]))
            case "remove_music":
                if not tl.drop_track(1):
                    raise _NotApplicable("There's no background music to remove.")
                return "Removed the background music."
        return None  # export/upload: answered, not applied

    def _slideshow(self, tl: _Timeline, uploads: list[dict[str, Any]]) -> str:
        media = [u for u in uploads if _kind(u) in {"image", "video"} and isinstance(u.get("cdn_url"), str)]
        if not media:
            raise _NotApplicable(
                "I don't see any images or clips in this project yet — upload some, then ask me again."
            )
        track = tl.track(0, create=True)
        assert track is not None
        existing: dict[str, dict[str, Any]] = {}
        for seg in tl.segments(0):
            existing.setdefault(str(seg.get("src")), seg)
        image_lengths = {_int(s.get("d")) for s in existing.values() if s.get("k") == "image"}
        image_ms = image_lengths.pop() if len(image_lengths) == 1 else DEFAULT_IMAGE_MS
        segments: list[dict[str, Any]] = []
        for upload in media:
            src = upload["cdn_url"]
            kind = _kind(upload)
            name = str(upload.get("filename") or src.rsplit("/", 1)[-1])
            reused = existing.pop(src, None)
            seg = reused if reused is not None else {}
            if reused is None:
                seg.update({"id": "", "st": 0, "d": 0, "n": name, "k": kind, "src": src})
                seg["d"] = image_ms if kind == "image" else self._clip_ms(upload)
            if kind == "image":
                seg["fx"] = "zoom"
            segments.append(seg)
        track["sg"] = segments
        for seg in segments:  # ids last: reused segments keep theirs, new ones get the next free one
            if not seg["id"]:
                seg["id"] = tl.next_id("v")
        meta = tl.draft["m"]
        if not meta.get("width") or not meta.get("height"):
            meta["width"], meta["height"] = CANVASES["portrait"]
        images = sum(1 for s in segments if s["k"] == "image")
        clips = len(segments) - images
        what = " and ".join(
            part
            for part in (
                f"{images} image{'s' if images != 1 else ''}" if images else "",
                f"{clips} clip{'s' if clips != 1 else ''}" if clips else "",
            )
            if part
        )
        fades = " with smooth crossfades" if len(segments) > 1 else ""
        zoom = ", each image slowly zooming in" if images else ""
        return f"I turned your {what} into an animated video{fades}{zoom}."

    def _clip_ms(self, upload: Mapping[str, Any]) -> int:
        duration = upload.get("duration")
        if isinstance(duration, int | float) and not isinstance(duration, bool) and duration > 0:
            return round(duration * 1000)
        path = self._resolve(str(upload.get("cdn_url")))
        if path is not None:
            try:
                info = self._probe(path)
            except NemoError as exc:
                log.warning("could not probe %s: %s", path, exc)
            else:
                if info.duration_s:
                    return round(info.duration_s * 1000)
        log.warning("no duration for %s; using %d ms", upload.get("filename"), FALLBACK_CLIP_MS)
        return FALLBACK_CLIP_MS

    def _image_duration(self, tl: _Timeline, ms: int) -> str:
        images = [s for s in tl.segments(0) if s.get("k") == "image"]
        if not images:
            raise _NotApplicable("There are no images on the timeline to retime yet.")
        ms = max(MIN_IMAGE_MS, min(ms, 60_000))
        for seg in images:
            seg["d"] = ms
        return f"Each image now shows for {_fmt_s(ms)}."

    def _total_duration(self, tl: _Timeline, target: int) -> str:
        target = max(1000, min(target, MAX_TOTAL_MS))
        segments = tl.segments(0)
        images = [s for s in segments if s.get("k") == "image"]
        if not images:
            raise _NotApplicable(
                "I can only stretch or shorten images, and there are none on the timeline; clips keep their length."
            )
        # Crossfades depend on the lengths, so settle the scale in a few rounds.
        for _ in range(4):
            tl.layout()
            current = tl.video_end()
            image_total = sum(_int(s.get("d")) for s in images)
            fixed = current - image_total
            scale = (target - fixed) / image_total if image_total else 1.0
            for seg in images:
                seg["d"] = max(MIN_IMAGE_MS, round(_int(seg.get("d")) * scale))
            tl.layout()
            error = target - tl.video_end()
            if error == 0:
                break
            images[-1]["d"] = max(MIN_IMAGE_MS, _int(images[-1].get("d")) + error)
        tl.layout()
        reached = tl.video_end()
        if reached != target:
            return (
                f"I made the images as short as I can ({_fmt_s(MIN_IMAGE_MS)} minimum), "
                f"so the video is {_fmt_s(reached)} rather than {_fmt_s(target)}."
            )
        return f"I retimed the images so the video lasts {_fmt_s(target)}."

    def _add_title(self, tl: _Timeline, text: Any) -> str:
        if not isinstance(text, str) or not text.strip():
            raise _NotApplicable("What should the title say? Put it in quotes, like: add the title 'Urban Dreams'.")
        text = text.strip()
        titles = tl.segments(7)
        if titles:
            titles[0]["tx"] = text
            return f"Changed the title to “{text}”."
        track = tl.track(7, create=True)
        assert track is not None
        track["sg"].append({"id": tl.next_id("x"), "st": 0, "d": DEFAULT_TITLE_MS, "tx": text})
        return f"Added the title “{text}” (0–{_fmt_s(DEFAULT_TITLE_MS)})."

    def _title_duration(self, tl: _Timeline, ms: int) -> str:
        titles = tl.segments(7)
        if not titles:
            raise _NotApplicable("There's no title yet — add one first, e.g. add the title 'Urban Dreams'.")
        ms = max(MIN_IMAGE_MS, ms)
        titles[0]["d"] = ms
        video = tl.video_end()
        if video and _int(titles[0].get("st")) + ms > video:
            return f"The title now lasts as long as the video (it is shorter than {_fmt_s(ms)})."
        return f"The title now shows for {_fmt_s(ms)}."

    def _add_music(self, tl: _Timeline, uploads: list[dict[str, Any]], volume: float | None) -> str:
        audio = [u for u in uploads if _kind(u) == "audio" and isinstance(u.get("cdn_url"), str)]
        if not audio:
            raise _NotApplicable("To add background music, upload an audio file (mp3, wav, m4a or aac) first.")
        upload = audio[-1]
        name = str(upload.get("filename") or upload["cdn_url"].rsplit("/", 1)[-1])
        existing = tl.segments(1)
        total = tl.video_end()
        if not total:  # no video yet: the music's own length, as far as known
            duration = upload.get("duration")
            total = round(duration * 1000) if isinstance(duration, int | float) and duration > 0 else 10_000
        if existing:
            seg = existing[0]
            seg.update({"n": name, "k": "audio", "src": upload["cdn_url"]})
            if volume is not None:
                seg["v"] = volume
        else:
            track = tl.track(1, create=True)
            assert track is not None
            seg = {
                "id": tl.next_id("a"), "st": 0, "d": total, "n": name, "k": "audio", "src": upload["cdn_url"],
                "v": DEFAULT_MUSIC_VOLUME if volume is None else volume,
            }  # fmt: skip
            track["sg"].append(seg)
        level = _pct(float(seg.get("v", DEFAULT_MUSIC_VOLUME)))
        return f"Added “{name}” as background music at {level} volume across the whole video."

    def _music_volume(self, tl: _Timeline, uploads: list[dict[str, Any]], volume: float) -> str:
        music = tl.segments(1)
        if not music:
            return self._add_music(tl, uploads, volume)
        for seg in music:
            seg["v"] = volume
        return f"Set the music volume to {_pct(volume)}."

    @staticmethod
    def _info_reply(info: list[Command], uploads: list[dict[str, Any]]) -> str:
        lines = []
        if any(c.action == "export" for c in info):
            lines.append("When you're ready, click Export to render the MP4 — it takes about as long as the video.")
        if any(c.action == "upload" for c in info):
            count = len(uploads)
            if count:
                lines.append(f"I can see {count} uploaded file{'s' if count != 1 else ''} in this project.")
            else:
                lines.append("Upload your images, clips or music with the upload tool, then tell me what to make.")
        return " ".join(lines)
