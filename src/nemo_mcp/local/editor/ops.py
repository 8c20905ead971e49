"""The operations: what each understood request does to a draft, and what it says about it.

An operation changes the :class:`~nemo_mcp.local.editor.timeline.Project` in place and returns
an :class:`Outcome`: the sentence for when the timeline changed, and the sentence for when it
did not (the state it checked, which already holds). It raises
:class:`~nemo_mcp.local.editor.replies.Refusal` when the request cannot apply here; the editor
then throws away whatever the operation touched. Operations never decide whether they changed
anything: the editor compares the drafts, so a reply cannot claim what the timeline does not show.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from nemo_mcp.draft import keys
from nemo_mcp.draft.edit import DEFAULT_HEIGHT, DEFAULT_WIDTH, duration, start
from nemo_mcp.local.editor import refs
from nemo_mcp.local.editor.media import Facts, find_upload, upload_kind, upload_name
from nemo_mcp.local.editor.phrases import Command
from nemo_mcp.local.editor.replies import (
    Colour,
    Count,
    Joined,
    Listing,
    Msg,
    Percent,
    Refusal,
    Said,
    Seconds,
    Speed,
    Suffix,
    Value,
    Words,
)
from nemo_mcp.local.editor.timeline import AUDIO, CANVASES, DEFAULT_CROSSFADE_MS, TEXT, Project

PHOTO_MS: Final = 3000
TEXT_MS: Final = 3000
CARD_MS: Final = 3000
CLIP_FALLBACK_MS: Final = 5000
MUSIC_LEVEL: Final = 0.5
MUSIC_FADE_MS: Final = 2000
BLACK_FADE_MS: Final = 1000
DUCK_LEVEL: Final = 0.3
MIN_ITEM_MS: Final = 500
MAX_ITEM_MS: Final = 60_000
MAX_TOTAL_MS: Final = 10 * 60_000
MAX_CROSSFADE_MS: Final = 5000
MIN_SPEED, MAX_SPEED = 0.25, 4.0
CARD_COLOUR: Final = "#000000"
_TRIM_EXAMPLE: Final = Said("trim the clip to 3 seconds", "视频片段只用前3秒")
_CARD_EXAMPLE: Final = Said(
    "make a text-only intro that says 'Launch day' on a blue background", "做一个纯文字片头，写着「发布日」，蓝色背景"
)


@dataclass(frozen=True)
class Outcome:
    done: Msg  # said when the timeline changed
    same: Msg | None = None  # said when it did not: what was checked and already holds
    notes: tuple[Msg, ...] = ()  # said with the change: limits that applied, caveats


@dataclass(frozen=True)
class Env:
    """Facts about the whole instruction that one operation needs."""

    explicit_canvas: bool = False


Operation = Callable[[Project, Command, Env], Outcome]


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(value, high))


def _items(p: Project, segs: list[dict[str, Any]]) -> Listing | Count:
    """Items by name, or by number when there are many ("5 photos")."""
    if len(segs) > 3:
        kinds = {p.kind(s) for s in segs}
        return Count(len(segs), kinds.pop() if len(kinds) == 1 else "item")
    return Listing(tuple(p.label(s) for s in segs))


def _texts(segs: list[dict[str, Any]]) -> Listing:
    return Listing(tuple(refs.text_label(s) for s in segs))


def _resolve_items(p: Project, command: Command, *, many: bool = False) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for ref in command.refs:
        for seg in refs.items(p, ref, many=many):
            if not any(seg is known for known in found):
                found.append(seg)
    return found


def _set(holder: dict[str, Any], key: str, value: Any, default: Any = None) -> None:
    """Write a key, or drop it when the value is what its absence already means."""
    if value is None or value == default:
        holder.pop(key, None)
    else:
        holder[key] = value


# --- building -----------------------------------------------------------------------------------


def _clip_ms(facts: Facts) -> int:
    return facts.duration_ms or CLIP_FALLBACK_MS


def _gif_ms(facts: Facts, photo_ms: int) -> int:
    """Whole loops of the animation, at least as long as a photo."""
    loop = facts.duration_ms or 0
    if not facts.animated or loop <= 0:
        return photo_ms
    return loop * max(1, math.ceil(photo_ms / loop))


def _photo_ms(p: Project, segs: Iterable[dict[str, Any]]) -> int:
    """A new photo's length: the one every photo among ``segs`` has, else the default."""
    stills = {duration(s) for s in segs if p.kind(s) == "image"}
    return stills.pop() if len(stills) == 1 else PHOTO_MS


def _new_item(p: Project, upload: dict[str, Any], photo_ms: int) -> dict[str, Any]:
    src, kind = upload["cdn_url"], upload_kind(upload)
    facts = p.media.facts(src, kind)
    seg: dict[str, Any] = {"id": "", "st": 0, "d": photo_ms, "n": upload_name(upload)}
    if kind == "video":
        seg.update(k="video", src=src, d=_clip_ms(facts))
    elif kind == "gif":
        seg.update(k="image", src=src, d=_gif_ms(facts, photo_ms))
    else:
        seg.update(k="image", src=src, fx="zoom_in")
    return seg


def _number_new(p: Project) -> None:
    """Ids for new items, once they are in place: the next free ones, in timeline order."""
    for seg in p.video:
        if not seg.get("id"):
            seg["id"] = p.edit.next_id("v")


def _visual_uploads(p: Project) -> list[dict[str, Any]]:
    return [u for u in p.media.uploads if upload_kind(u) in {"image", "gif", "video"}]


def build(p: Project, command: Command, env: Env) -> Outcome:
    uploads = _visual_uploads(p)
    if not uploads:
        raise Refusal("no_media")
    current = p.video
    was_empty = not current
    existing: dict[str, dict[str, Any]] = {}
    for seg in current:
        existing.setdefault(str(seg.get("src")), seg)
    photo_ms = _photo_ms(p, existing.values())
    media = [existing.pop(u["cdn_url"]) if u["cdn_url"] in existing else _new_item(p, u, photo_ms) for u in uploads]
    # Background cards keep their side: those before the first media item stay first.
    first_media = next((i for i, s in enumerate(current) if p.kind(s) != "color"), len(current))
    intro = [s for s in current[:first_media] if p.kind(s) == "color"]
    outro = [s for s in current[first_media:] if p.kind(s) == "color"]
    p.set_video([*intro, *media, *outro])
    _number_new(p)
    notes: list[Msg] = []
    if was_empty and not env.explicit_canvas:
        notes.extend(_auto_canvas(p, media))
    counts = {"image": 0, "gif": 0, "video": 0}
    for seg in media:
        counts[p.kind(seg)] = counts.get(p.kind(seg), 0) + 1
    what = Listing(tuple(Count(counts[kind], kind) for kind in ("image", "video", "gif") if counts[kind]))
    extras = [Msg.of("built_extras_fades")] if len(media) > 1 else []
    if counts["image"]:
        extras.append(Msg.of("built_extras_zoom"))
    return Outcome(Msg.of("built", what=what, extras=Joined(tuple(extras))), Msg.of("already_built"), tuple(notes))


def _auto_canvas(p: Project, media: list[dict[str, Any]]) -> list[Msg]:
    """A first build picks the shape most of the media has, unless the canvas was chosen already."""
    width, height = p.canvas()
    if (width, height) != (DEFAULT_WIDTH, DEFAULT_HEIGHT):
        return []
    shapes = [o for o in (p.facts(s).orientation for s in media) if o is not None]
    if not shapes:
        return []
    shape = max(dict.fromkeys(shapes), key=shapes.count)  # ties: the first item's shape
    size = CANVASES[shape]
    if size == (width, height):
        return []
    p.meta["width"], p.meta["height"] = size
    other = "portrait" if shape != "portrait" else "landscape"
    other_zh = "竖屏" if other == "portrait" else "横屏"
    return [Msg.of("canvas_auto", shape=Msg.of(shape), size=f"{size[0]}x{size[1]}", other=Said(other, other_zh))]


def clear(p: Project, command: Command, env: Env) -> Outcome:
    p.draft["t"] = []
    for key in ("fit", "bg", "xf", "fi", "fo"):
        p.meta.pop(key, None)
    return Outcome(Msg.of("cleared"), Msg.of("already_empty"))


def canvas(p: Project, command: Command, env: Env) -> Outcome:
    shape = command.args["shape"]
    size = CANVASES[shape]
    p.meta["width"], p.meta["height"] = size
    words: dict[str, Value] = {"shape": Msg.of(shape), "size": f"{size[0]}x{size[1]}"}
    return Outcome(Msg.of("canvas", **words), Msg.of("canvas_same", **words))


def add_item(p: Project, command: Command, env: Env) -> Outcome:
    name = str(command.args["name"])
    uploads = _visual_uploads(p)
    upload = find_upload(uploads, name)
    if upload is None:
        raise Refusal("no_upload_named", name=Said(name), names=Listing(tuple(Said(upload_name(u)) for u in uploads)))
    video = p.video
    if not command.args.get("again") and any(s.get("src") == upload["cdn_url"] for s in video):
        seg = next(s for s in video if s.get("src") == upload["cdn_url"])
        return Outcome(Msg.of("order_same", item=p.label(seg)), Msg.of("order_same", item=p.label(seg)))
    seg = _new_item(p, upload, _photo_ms(p, video))
    index, where = _place(p, video, command)
    video.insert(index, seg)
    p.set_video(video)
    _number_new(p)
    return Outcome(Msg.of("added_item", item=p.label(seg), where=where))


# --- order ------------------------------------------------------------------------------------


def _place(p: Project, video: list[dict[str, Any]], command: Command) -> tuple[int, Msg]:
    """Where ``command`` puts an item in ``video`` (the moved item already taken out)."""
    where = command.args.get("where", "end")
    leading = next((i for i, s in enumerate(video) if p.kind(s) != "color"), len(video))
    trailing = next((i for i in range(len(video), 0, -1) if p.kind(video[i - 1]) != "color"), 0)
    if where == "start":
        return leading, Msg.of("to_start")
    if where == "place":
        place = int(command.args["place"])
        return int(_clamp(place - 1, 0, len(video))), Msg.of("to_place", n=place)
    if where in {"before", "after"}:
        anchor = refs.items(p, command.refs[-1])[0]
        index = next(i for i, s in enumerate(video) if s is anchor)
        if where == "before":
            return index, Msg.of("to_before", item=p.label(anchor))
        return index + 1, Msg.of("to_after", item=p.label(anchor))
    return trailing, Msg.of("to_end")


def move(p: Project, command: Command, env: Env) -> Outcome:
    (seg,) = refs.items(p, command.refs[0])
    video = p.video
    if command.args["where"] in {"before", "after"} and refs.items(p, command.refs[-1])[0] is seg:
        raise Refusal("order_same", item=p.label(seg))
    rest = [s for s in video if s is not seg]
    index, where = _place(p, rest, command)
    rest.insert(index, seg)
    p.set_video(rest)
    return Outcome(Msg.of("moved_item", item=p.label(seg), where=where), Msg.of("order_same", item=p.label(seg)))


def swap(p: Project, command: Command, env: Env) -> Outcome:
    (a,), (b,) = refs.items(p, command.refs[0]), refs.items(p, command.refs[1])
    video = p.video
    i = next(n for n, s in enumerate(video) if s is a)
    j = next(n for n, s in enumerate(video) if s is b)
    video[i], video[j] = video[j], video[i]
    p.set_video(video)
    return Outcome(Msg.of("swapped", a=p.label(a), b=p.label(b)), Msg.of("order_same", item=p.label(a)))


def reverse(p: Project, command: Command, env: Env) -> Outcome:
    video = p.video
    slots = [i for i, s in enumerate(video) if p.kind(s) != "color"]  # background cards stay put
    media = [video[i] for i in slots]
    for i, seg in zip(slots, reversed(media), strict=True):
        video[i] = seg
    p.set_video(video)
    return Outcome(Msg.of("reversed", n=len(media)), Msg.of("reverse_same"))


def remove_item(p: Project, command: Command, env: Env) -> Outcome:
    gone = _resolve_items(p, command)
    p.set_video([s for s in p.video if not any(s is g for g in gone)])
    return Outcome(Msg.of("removed_items", items=_items(p, gone)))


# --- timing -------------------------------------------------------------------------------------


def _source_ms(p: Project, seg: dict[str, Any]) -> int | None:
    return p.facts(seg).duration_ms


def _speed_of(seg: dict[str, Any]) -> float:
    found = keys.read_number(seg, keys.SPEED)
    return float(found) if found else 1.0


def _trim_to(p: Project, seg: dict[str, Any], first: int, last: int) -> list[Msg]:
    """Play ``first``..``last`` ms of a clip's source (clamped to it); notes about the clamp."""
    notes: list[Msg] = []
    source = _source_ms(p, seg)
    if source is not None and last > source:
        last = source
        notes.append(Msg.of("trim_clamped", source=Seconds(source)))
    if last - first < 100:
        raise Refusal("trim_empty", item=p.label(seg), source=Seconds(source or last))
    _set(seg, "ss", first, 0)
    seg["d"] = round((last - first) / _speed_of(seg))
    return notes


def trim(p: Project, command: Command, env: Env) -> Outcome:
    (seg,) = refs.items(p, command.refs[0])
    if p.kind(seg) != "video":
        raise Refusal("no_clips")
    args = command.args
    begin = keys.read_ms(seg, keys.SOURCE_START) or 0
    finish = begin + round(duration(seg) * _speed_of(seg))
    if "cut_head" in args:
        first, last = begin + int(args["cut_head"]), finish
    elif "cut_tail" in args:
        first, last = begin, finish - int(args["cut_tail"])
    else:
        first = int(args.get("start") or 0)
        last = int(args["end"]) if args.get("end") is not None else (_source_ms(p, seg) or finish)
    notes = _trim_to(p, seg, first, last)
    first = keys.read_ms(seg, keys.SOURCE_START) or 0
    last = first + round(duration(seg) * _speed_of(seg))
    shown: dict[str, Value] = {"item": p.label(seg), "start": Seconds(first), "end": Seconds(last)}
    return Outcome(
        Msg.of("trimmed", length=Seconds(duration(seg)), **shown), Msg.of("trim_same", **shown), tuple(notes)
    )


def item_length(p: Project, command: Command, env: Env) -> Outcome:
    segs = _resolve_items(p, command, many=True)
    notes: list[Msg] = []
    for seg in segs:
        wanted = command.args.get("ms") or round(duration(seg) * float(command.args["step"]))
        wanted = int(_clamp(wanted, MIN_ITEM_MS, MAX_ITEM_MS))
        if p.kind(seg) == "video":
            begin = keys.read_ms(seg, keys.SOURCE_START) or 0
            source = _source_ms(p, seg)
            longest = round(((source or begin + wanted) - begin) / _speed_of(seg))
            if wanted > longest:
                wanted = longest
                notes.append(Msg.of("clip_longest", item=p.label(seg), length=Seconds(longest)))
        seg["d"] = wanted
    length = Seconds(duration(segs[0]))
    return Outcome(
        Msg.of("item_length", items=_items(p, segs), length=length),
        Msg.of("item_length_same", items=_items(p, segs), length=length),
        tuple(notes),
    )


def _stills(p: Project) -> list[dict[str, Any]]:
    return [s for s in p.video if p.kind(s) == "image"]


def photo_length(p: Project, command: Command, env: Env) -> Outcome:
    stills = _stills(p)
    if not stills:
        raise Refusal("no_photos")
    wanted = command.args.get("ms") or round(duration(stills[0]) * float(command.args["step"]))
    ms = int(_clamp(int(wanted), MIN_ITEM_MS, MAX_ITEM_MS))
    for seg in stills:
        seg["d"] = ms
    return Outcome(Msg.of("photo_length", length=Seconds(ms)), Msg.of("photo_length_same", length=Seconds(ms)))


def total_length(p: Project, command: Command, env: Env) -> Outcome:
    wanted = command.args.get("ms") or round(p.total_ms() * float(command.args["step"]))
    target = int(_clamp(int(wanted), 1000, MAX_TOTAL_MS))
    stills = _stills(p)
    if not stills:
        raise Refusal("total_no_photos", example=_TRIM_EXAMPLE)
    # Scale the photos, then settle what the crossfades (a quarter of the shorter side) took or gave:
    # each correction moves the overlaps by at most half of it, so this converges.
    p.relayout()
    image_total = sum(duration(s) for s in stills)
    scale = (target - (p.total_ms() - image_total)) / image_total
    for seg in stills:
        seg["d"] = int(_clamp(round(duration(seg) * scale), MIN_ITEM_MS, MAX_ITEM_MS))
    for _ in range(30):
        p.relayout()
        error = target - p.total_ms()
        movable = [s for s in stills if MIN_ITEM_MS < duration(s) + error / len(stills) < MAX_ITEM_MS]
        if error == 0 or not movable:
            break
        share, rest = divmod(error, len(movable))
        for i, seg in enumerate(movable):
            seg["d"] = int(_clamp(duration(seg) + share + (1 if i < rest else 0), MIN_ITEM_MS, MAX_ITEM_MS))
    p.relayout()
    reached = p.total_ms()
    if abs(reached - target) > 50:
        # Photos alone cannot get there: squashing them to the limit is not what was asked.
        key = "total_short" if reached > target else "total_long"
        raise Refusal(key, reached=Seconds(reached), length=Seconds(target), example=_TRIM_EXAMPLE)
    return Outcome(Msg.of("total", length=Seconds(target)), Msg.of("total_same", length=Seconds(target)))


# --- a clip's speed and sound -------------------------------------------------------------------


def _clips(p: Project, command: Command, refusal: Refusal) -> list[dict[str, Any]]:
    segs = _resolve_items(p, command, many=True)
    clips = [s for s in segs if p.kind(s) == "video"]
    if not clips:
        raise refusal
    return clips


def speed(p: Project, command: Command, env: Env) -> Outcome:
    clips = _clips(
        p, command, Refusal("speed_photos", example=Said("make the second image 5 seconds", "第二张图片显示5秒"))
    )
    notes: list[Msg] = []
    for seg in clips:
        old = _speed_of(seg)
        wanted = command.args.get("factor") or old * float(command.args["step"])
        new = round(_clamp(float(wanted), MIN_SPEED, MAX_SPEED), 3)
        if new != round(float(wanted), 3) and not notes:
            notes.append(Msg.of("speed_clamped"))
        shown = round(duration(seg) * old)  # the same part of the source, played faster or slower
        _set(seg, "sp", new, 1.0)
        seg["d"] = max(1, round(shown / new))
    first = clips[0]
    items = _items(p, clips)
    return Outcome(
        Msg.of("speed", item=items, speed=Speed(_speed_of(first)), length=Seconds(duration(first))),
        Msg.of("speed_same", item=items, speed=Speed(_speed_of(first))),
        tuple(notes),
    )


def clip_volume(p: Project, command: Command, env: Env) -> Outcome:
    clips = _clips(p, command, Refusal("no_clips"))
    level = command.args.get("level")
    for seg in clips:
        old = keys.read_volume(seg)
        new = level if level is not None else (1.0 if old is None else old) * float(command.args["step"])
        _set(seg, "v", round(_clamp(float(new), 0.0, 1.0), 2), 1.0)
    items = _items(p, clips)
    now = keys.read_volume(clips[0])
    now = 1.0 if now is None else now
    notes = (
        (Msg.of("mute_note", example=Said("remove the music", "去掉音乐")),)
        if command.args.get("bare") and p.music and now == 0
        else ()
    )
    if now == 0:
        done = Msg.of("clip_muted", item=items)
    elif now == 1.0:
        done = Msg.of("clip_unmuted", item=items)
    else:
        done = Msg.of("clip_volume", item=items, level=Percent(now))
    return Outcome(done, Msg.of("clip_volume_same", item=items, level=Percent(now)), notes)


# --- framing and motion -------------------------------------------------------------------------


def _background(bg: str) -> Msg:
    return Msg.of("bg_blur") if bg == "blur" else Msg.of("bg_colour", colour=Colour(bg))


def framing(p: Project, command: Command, env: Env) -> Outcome:
    mode, bg = command.args["mode"], command.args.get("bg")
    meta = p.meta
    if not command.refs:
        _set(meta, "fit", mode, "fill")
        if mode == "fit":
            meta["bg"] = bg or keys.read_text(meta, keys.BACKGROUND) or "blur"
        else:
            meta.pop("bg", None)
        for seg in p.video:
            seg.pop("fit", None)
            seg.pop("bg", None)
        shown = meta.get("bg", "blur")
        done = Msg.of("fit_all", bg=_background(shown)) if mode == "fit" else Msg.of("fill_all")
        return Outcome(done, Msg.of("fit_same"))
    segs = _resolve_items(p, command, many=True)
    video_mode = keys.read_text(meta, keys.FIT) or "fill"
    video_bg = keys.read_text(meta, keys.BACKGROUND) or "blur"
    for seg in segs:
        _set(seg, "fit", mode, video_mode)
        item_bg = bg or keys.read_text(seg, keys.BACKGROUND) or video_bg
        _set(seg, "bg", item_bg if mode == "fit" else None, video_bg)
    items = _items(p, segs)
    done = (
        Msg.of("fit_items", items=items, bg=_background(bg or video_bg))
        if mode == "fit"
        else Msg.of("fill_items", items=items)
    )
    return Outcome(done, Msg.of("fit_same"))


_STILL_FX: Final = {None, "none"}


def _fx(seg: dict[str, Any]) -> str | None:
    found = keys.read_any(seg, keys.EFFECT)
    return "zoom_in" if found == "zoom" else found if isinstance(found, str) else None


def motion(p: Project, command: Command, env: Env) -> Outcome:
    segs = _resolve_items(p, command, many=True)
    stills = [s for s in segs if p.kind(s) == "image"]
    if not stills:
        raise Refusal("unsupported", reason=Msg.of("motion_photos_only"))
    fx = command.args["fx"]
    for seg in stills:
        if (fx == "none" and _fx(seg) in _STILL_FX) or _fx(seg) == fx:
            continue
        seg["fx"] = fx
    items = _items(p, stills)
    shown = Msg.of(f"motion_{fx}")
    return Outcome(Msg.of("motion", items=items, motion=shown), Msg.of("motion_same", items=items, motion=shown))


# --- text ---------------------------------------------------------------------------------------


def _nominal_size(p: Project) -> int:
    """The size a text has when none is set, for "bigger" and "smaller" (the renderer fits it)."""
    return round(min(p.canvas()) / 12)


def _style(p: Project, seg: dict[str, Any], args: dict[str, Any]) -> list[Words]:
    shown: list[Words] = []
    if args.get("size") or args.get("scale"):
        current = keys.read_ms(seg, keys.FONT_SIZE) or _nominal_size(p)
        size = int(args.get("size") or round(current * float(args["scale"])))
        seg["fs"] = int(_clamp(size, 16, min(p.canvas()) // 3))
        shown.append(Msg.of("style_size", px=seg["fs"]))
    if args.get("colour"):
        seg["c"] = args["colour"]
        shown.append(Msg.of("style_colour", colour=Colour(args["colour"])))
    if args.get("pos"):
        _set(seg, "pos", args["pos"], "center")
        shown.append(Msg.of("style_place", place=Msg.of(f"place_{args['pos']}")))
    return shown


def add_text(p: Project, command: Command, env: Env) -> Outcome:
    args = command.args
    text = args.get("text")
    if not isinstance(text, str) or not text.strip():
        raise Refusal("text_what", example=Said("add the title 'Urban Dreams'", "加标题「城市之梦」"))
    text = text.strip()
    total = p.total_ms()
    titles = p.texts
    if args.get("role") == "title" and args.get("start") is None and args.get("where") is None and titles:
        seg = titles[0]
        old = refs.text_label(seg)
        seg["tx"] = text
        _style(p, seg, args)
        notes: tuple[Msg, ...] = ()
        if args.get("ms"):
            seg["d"] = int(args["ms"])
            span: dict[str, Value] = {
                "item": Said(text),
                "start": Seconds(start(seg)),
                "end": Seconds(start(seg) + duration(seg)),
            }
            notes = (Msg.of("text_timed", **span),)
        return Outcome(
            Msg.of("text_changed", old=old, text=Said(text)), Msg.of("text_same", old=old, text=Said(text)), notes
        )
    length = int(args.get("ms") or TEXT_MS)
    begin = (
        int(args["start"])
        if args.get("start") is not None
        else max(0, total - length)
        if args.get("where") == "end"
        else 0
    )
    if total and begin >= total:
        raise Refusal("text_past_end", length=Seconds(total), start=Seconds(begin))
    seg = {"id": p.edit.next_id("x"), "st": begin, "d": length, "tx": text}
    style = {**args, "pos": args.get("pos") or ("bottom" if args.get("role") == "caption" else None)}
    shown = _style(p, seg, style)
    p.track(TEXT)["sg"].append(seg)
    end = min(begin + length, total) if total else begin + length
    return Outcome(
        Msg.of("text_added", text=Said(text), start=Seconds(begin), end=Seconds(end), style=Suffix(tuple(shown)))
    )


def remove_text(p: Project, command: Command, env: Env) -> Outcome:
    gone: list[dict[str, Any]] = []
    for ref in command.refs:
        gone += refs.texts(p, ref, many=True)
    p.drop(TEXT, gone)
    return Outcome(Msg.of("text_removed", items=_texts(gone)))


def text_time(p: Project, command: Command, env: Env) -> Outcome:
    (seg, *_) = refs.texts(p, command.refs[0])
    total = p.total_ms()
    begin = command.args.get("start")
    begin = start(seg) if begin is None else int(begin)
    length = int(command.args.get("ms") or duration(seg))
    if total and begin >= total:
        raise Refusal("text_past_end", length=Seconds(total), start=Seconds(begin))
    seg["st"], seg["d"] = begin, max(MIN_ITEM_MS, length)
    end = begin + seg["d"]
    notes = (Msg.of("text_clipped", end=Seconds(total)),) if total and end > total else ()
    shown: dict[str, Value] = {
        "item": refs.text_label(seg),
        "start": Seconds(begin),
        "end": Seconds(min(end, total) if total else end),
    }
    return Outcome(Msg.of("text_timed", **shown), Msg.of("text_timed_same", **shown), notes)


def text_style(p: Project, command: Command, env: Env) -> Outcome:
    segs: list[dict[str, Any]] = []
    for ref in command.refs:
        segs += refs.texts(p, ref, many=True)
    shown: list[Words] = []
    for seg in segs:
        shown = _style(p, seg, command.args)
    style = Listing(tuple(shown))
    return Outcome(
        Msg.of("text_styled", items=_texts(segs), style=style),
        Msg.of("text_styled_same", items=_texts(segs), style=style),
    )


def set_text(p: Project, command: Command, env: Env) -> Outcome:
    (seg, *_) = refs.texts(p, command.refs[0])
    old = refs.text_label(seg)
    new = str(command.args["text"]).strip()
    seg["tx"] = new
    return Outcome(Msg.of("text_changed", old=old, text=Said(new)), Msg.of("text_same", old=old, text=Said(new)))


def card(p: Project, command: Command, env: Env) -> Outcome:
    args = command.args
    text = args.get("text")
    if not isinstance(text, str) or not text.strip():
        raise Refusal("text_what", example=_CARD_EXAMPLE)
    colours = list(args.get("colours") or [CARD_COLOUR])
    at_end = args.get("where") == "end"
    length = int(_clamp(int(args.get("ms") or CARD_MS), MIN_ITEM_MS, MAX_ITEM_MS))
    seg: dict[str, Any] = {
        "id": p.edit.next_id("v"),
        "st": 0,
        "d": length,
        "n": "outro" if at_end else "intro",
        "k": "color",
    }
    _paint(seg, colours)
    seg["fx"] = "drift"
    video = p.video
    old_first = video[0] if video else None
    p.set_video([*video, seg] if at_end else [seg, *video])
    p.relayout()
    if old_first is not None and not at_end:
        shift = start(old_first)  # texts stay with the pictures they were over
        for text_seg in p.edit.segments(TEXT):
            text_seg["st"] = start(text_seg) + shift
    p.track(TEXT)["sg"].append({"id": p.edit.next_id("x"), "st": start(seg), "d": duration(seg), "tx": text.strip()})
    return Outcome(
        Msg.of(
            "card_added",
            length=Seconds(length),
            colours=_card_colours(seg),
            where=Msg.of("card_end" if at_end else "card_start"),
            text=Said(text.strip()),
        )
    )


def _paint(seg: dict[str, Any], colours: list[str]) -> None:
    seg["c"] = colours[0]
    _set(seg, "c2", colours[1] if len(colours) > 1 and colours[1] != colours[0] else None)


def _card_colours(seg: dict[str, Any]) -> Msg:
    first = Colour(str(seg.get("c", CARD_COLOUR)))
    if seg.get("c2"):
        return Msg.of("card_gradient", a=first, b=Colour(str(seg["c2"])))
    return Msg.of("card_colours", a=first)


def recolour_card(p: Project, command: Command, env: Env) -> Outcome:
    cards = [s for s in p.video if p.kind(s) == "color"]
    if not cards:
        raise Refusal("no_card", example=_CARD_EXAMPLE)
    (seg,) = refs.items(p, command.refs[0]) if len(cards) > 1 else cards
    _paint(seg, list(command.args["colours"]))
    shown: dict[str, Value] = {"item": p.label(seg), "colours": _card_colours(seg)}
    return Outcome(Msg.of("card_recoloured", **shown), Msg.of("card_recoloured_same", **shown))


# --- music --------------------------------------------------------------------------------------


def _music(p: Project) -> dict[str, Any]:
    music = p.music
    if not music:
        raise Refusal("no_music_add", example=Said("add background music", "加背景音乐"))
    return music[0]


def add_music(p: Project, command: Command, env: Env) -> Outcome:
    audio = [u for u in p.media.uploads if upload_kind(u) == "audio"]
    name = command.args.get("name")
    if not audio:
        raise Refusal("no_audio_upload")
    if name:
        named = find_upload(audio, str(name))
        if named is None:
            raise Refusal(
                "no_upload_named", name=Said(str(name)), names=Listing(tuple(Said(upload_name(u)) for u in audio))
            )
        audio = [named]
    upload = audio[-1]
    level = command.args.get("volume")
    music = p.music
    if music and music[0].get("src") == upload["cdn_url"] and level is not None:
        return music_volume(p, Command("music_volume", {"level": level}), env)  # the same song, louder or softer
    if music:
        seg = music[0]
        seg.update(n=upload_name(upload), k="audio", src=upload["cdn_url"])
        if level is not None:
            seg["v"] = round(float(level), 2)
    else:
        total = p.total_ms() or p.media.audio_ms(upload["cdn_url"]) or 10_000
        seg = {
            "id": p.edit.next_id("a"), "st": 0, "d": total, "n": upload_name(upload), "k": "audio",
            "src": upload["cdn_url"], "v": round(float(MUSIC_LEVEL if level is None else level), 2),
        }  # fmt: skip
        p.track(AUDIO)["sg"].append(seg)
    shown: dict[str, Value] = {"name": upload_name(upload), "level": Percent(keys.read_volume(seg) or 0.0)}
    return Outcome(Msg.of("music_added", **shown), Msg.of("music_same", **shown))


def remove_music(p: Project, command: Command, env: Env) -> Outcome:
    if not p.edit.drop_track(AUDIO):
        raise Refusal("no_music")
    return Outcome(Msg.of("music_removed"))


def music_volume(p: Project, command: Command, env: Env) -> Outcome:
    level = command.args.get("level")
    if not p.music and level is not None:
        return add_music(p, Command("add_music", {"volume": level}), env)
    seg = _music(p)
    old = keys.read_volume(seg)
    old = MUSIC_LEVEL if old is None else old
    new = float(level) if level is not None else old * float(command.args["step"])
    seg["v"] = round(_clamp(new, 0.0, 1.0), 2)
    now = Percent(seg["v"])
    if level is None and float(command.args["step"]) > 1 and old >= 1.0:
        same = Msg.of("music_loudest")
    else:
        same = Msg.of("music_volume_same", level=now)
    return Outcome(Msg.of("music_volume", level=now, old=Percent(old)), same)


_FADE_WORDS: Final = {"in": "fade_in_word", "out": "fade_out_word", "both": "fade_both_word"}


def _fade_keys(which: str) -> tuple[str, ...]:
    return {"in": ("fi",), "out": ("fo",), "both": ("fi", "fo")}[which]


def _fade(holder: dict[str, Any], which: str, ms: int | None, off: bool, default: int) -> int:
    length = int(_clamp(ms or default, 100, 30_000))
    for key in _fade_keys(which):
        if off:
            holder.pop(key, None)
        else:
            holder[key] = length
    return length


def music_fade(p: Project, command: Command, env: Env) -> Outcome:
    seg = _music(p)
    args = command.args
    which, off = args["which"], bool(args.get("off"))
    length = _fade(seg, which, args.get("ms"), off, MUSIC_FADE_MS)
    word = Msg.of(_FADE_WORDS[which])
    if off:
        return Outcome(Msg.of("music_fade_off", which=word), Msg.of("music_fade_off_same", which=word))
    return Outcome(
        Msg.of("music_fade", which=word, length=Seconds(length)),
        Msg.of("music_fade_same", which=word, length=Seconds(length)),
    )


def duck(p: Project, command: Command, env: Env) -> Outcome:
    seg = _music(p)
    if not command.args.get("on", True):
        seg.pop("dk", None)
        return Outcome(Msg.of("unducked"), Msg.of("unduck_same"))
    level = command.args.get("level")
    seg["dk"] = round(float(DUCK_LEVEL if level is None else level), 2)
    sound = any(p.kind(s) == "video" and p.facts(s).has_audio and keys.read_volume(s) != 0 for s in p.video)
    notes = () if sound else (Msg.of("duck_no_sound"),)
    shown = Percent(seg["dk"])
    return Outcome(Msg.of("ducked", level=shown), Msg.of("duck_same", level=shown), notes)


# --- transitions ------------------------------------------------------------------------------


def crossfade(p: Project, command: Command, env: Env) -> Outcome:
    old = p.crossfade_ms()
    ms = command.args.get("ms")
    new = (
        int(ms)
        if ms is not None
        else round(old * float(command.args.get("step") or 1.0))
        if old
        else DEFAULT_CROSSFADE_MS
    )
    new = int(_clamp(new, 0, MAX_CROSSFADE_MS))
    _set(p.meta, "xf", new, DEFAULT_CROSSFADE_MS)
    if new == 0:
        return Outcome(Msg.of("crossfade_off"), Msg.of("crossfade_off_same"))
    return Outcome(Msg.of("crossfade", length=Seconds(new)), Msg.of("crossfade_same", length=Seconds(new)))


def fade_black(p: Project, command: Command, env: Env) -> Outcome:
    args = command.args
    which, off = args["which"], bool(args.get("off"))
    length = _fade(p.meta, which, args.get("ms"), off, BLACK_FADE_MS)
    sides = {"in": (Msg.of("from_black"),), "out": (Msg.of("to_black"),)}.get(
        which, (Msg.of("from_black"), Msg.of("to_black"))
    )
    words: dict[str, Value] = {"which": Listing(sides)}
    notes: tuple[Msg, ...] = ()
    if args.get("music") and p.music:
        seg = p.music[0]
        before = copy.deepcopy(seg)
        music_length = _fade(seg, which, args.get("ms"), off, MUSIC_FADE_MS)
        if seg != before:
            key = "music_fade_off" if off else "music_fade"
            notes = (Msg.of(key, which=Msg.of(_FADE_WORDS[which]), length=Seconds(music_length)),)
    if off:
        return Outcome(Msg.of("fade_black_off", **words), Msg.of("fade_black_off_same", **words), notes)
    shown: dict[str, Value] = {**words, "length": Seconds(length)}
    return Outcome(Msg.of("fade_black", **shown), Msg.of("fade_black_same", **shown), notes)


OPERATIONS: Final[dict[str, Operation]] = {
    "build": build,
    "clear": clear,
    "canvas": canvas,
    "add_item": add_item,
    "move": move,
    "swap": swap,
    "reverse": reverse,
    "remove_item": remove_item,
    "trim": trim,
    "item_length": item_length,
    "photo_length": photo_length,
    "total_length": total_length,
    "speed": speed,
    "clip_volume": clip_volume,
    "framing": framing,
    "motion": motion,
    "add_text": add_text,
    "remove_text": remove_text,
    "text_time": text_time,
    "text_style": text_style,
    "set_text": set_text,
    "card": card,
    "recolour_card": recolour_card,
    "add_music": add_music,
    "remove_music": remove_music,
    "music_volume": music_volume,
    "music_fade": music_fade,
    "duck": duck,
    "crossfade": crossfade,
    "fade_black": fade_black,
}
