"""References to items the way people make them, and finding what they point at.

"the second image", "the clip", "city.png", "the city photo", "the last photo", "the portrait
one", "all the photos", "the caption 'Day one'", "第二张", "最后一张", "视频片段", "字幕「第一天」"
— :func:`find` reads them from a folded clause (``words.fold``), with where they sit
so the parser can tell them from other words ("the portrait photo" is no canvas request).
:func:`items` and :func:`texts` resolve them on a timeline, or refuse with a reason that
names the candidates, so an ambiguous request never edits the wrong thing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from nemo_mcp.draft import keys
from nemo_mcp.draft import media as formats
from nemo_mcp.draft.media import FORMATS
from nemo_mcp.local.editor import words
from nemo_mcp.local.editor.media import is_called
from nemo_mcp.local.editor.replies import Count, Item, Listing, Noun, Refusal, Said
from nemo_mcp.local.editor.timeline import Project

Quantity = Literal["one", "all", "any"]  # "any": a Chinese bare noun, one or all by what the action suits

_ORDINALS: Final = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "last": -1, "final": -1, "second to last": -2, "second-to-last": -2,
    "next to last": -2, "next-to-last": -2, "penultimate": -2, "third to last": -3,
}  # fmt: skip
_EN_NOUNS: Final = {
    "image": "image", "photo": "image", "picture": "image", "pic": "image", "still": "image",
    "photograph": "image", "gif": "gif", "animated gif": "gif", "animation": "gif", "clip": "clip",
    "video clip": "clip", "footage": "clip", "movie clip": "clip", "video": "video", "item": "item",
    "slide": "item", "segment": "item", "one": "item", "scene": "item", "shot": "item", "element": "item",
    "file": "item", "title": "title", "heading": "title", "headline": "title", "caption": "caption",
    "subtitle": "caption", "text": "text", "font": "title", "label": "text", "line": "text", "words": "text",
    "intro": "color", "outro": "color", "title card": "color", "card": "color", "text slide": "color",
    "music": "music", "song": "music", "soundtrack": "music", "bgm": "music", "background music": "music",
    "audio track": "music", "tune": "music",
}  # fmt: skip
_ZH_NOUNS: Final = {
    "视频片段": "clip", "片段": "clip", "短片": "clip", "视频": "video", "动图": "gif", "gif": "gif",
    "图片": "image", "照片": "image", "相片": "image", "图": "image", "标题": "title", "大标题": "title",
    "字幕": "caption", "文字": "text", "文本": "text", "文案": "text", "片头": "color", "片尾": "color",
    "背景音乐": "music", "音乐": "music", "配乐": "music", "歌曲": "music", "背景乐": "music", "素材": "item",
    "镜头": "item",
}  # fmt: skip
_ZH_COUNTERS: Final = {"张": "image", "幅": "image", "段": "clip", "个": "item", "条": "text", "首": "music"}
_ORIENTS: Final = {
    "portrait": "portrait", "vertical": "portrait", "tall": "portrait", "landscape": "landscape",
    "horizontal": "landscape", "wide": "landscape", "square": "square", "竖版": "portrait", "竖的": "portrait",
    "竖屏": "portrait", "纵向": "portrait", "横版": "landscape", "横的": "landscape", "横屏": "landscape",
    "方形": "square", "正方形": "square", "方的": "square",
}  # fmt: skip


def _alternatives(names: Iterable[str]) -> str:
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


_EXT = "|".join(sorted(FORMATS))  # no extension starts another, so the order is free
# A file name not among the project's (they are matched as given, in any script): Latin letters only,
# so "背景音乐换成song.mp3" names song.mp3.
_FILE = re.compile(rf"(?<![a-z0-9_.\-])([a-z0-9_\-]+(?:\.[a-z0-9_\-]+)*\.(?:{_EXT}))(?![a-z0-9])")
_EN_NOUN = rf"(?P<noun>{_alternatives(_EN_NOUNS)})(?P<plural>e?s)?"
_EN_ORIENT = _alternatives([k for k in _ORIENTS if k.isascii()])
_EN_ORDINAL = rf"(?P<ord>{_alternatives(_ORDINALS)}|(?P<num>\d{{1,2}})(?:st|nd|rd|th))"
_EN_ORDINAL_REF = re.compile(
    rf"(?<![a-z])(?:the\s+)?{_EN_ORDINAL}\s+(?:(?P<orient>{_EN_ORIENT})\s+)?{_EN_NOUN}(?![a-z])"
)
_EN_PAIR_REF = re.compile(
    rf"(?<![a-z])(?:the\s+)?(?P<a>{_alternatives(_ORDINALS)}|\d{{1,2}}(?:st|nd|rd|th))\s+(?:and|&|or)\s+(?:the\s+)?"
    rf"(?P<b>{_alternatives(_ORDINALS)}|\d{{1,2}}(?:st|nd|rd|th))\s+{_EN_NOUN}(?![a-z])"
)
_EN_NUMBERED_REF = re.compile(
    rf"(?<![a-z])(?:the\s+)?{_EN_NOUN}\s*(?:number\s*|no\.?\s*|#)(?P<num>\d{{1,2}})(?![\d.])"
    rf"|(?<![a-z])(?:the\s+)?{_EN_NOUN.replace('P<noun>', 'P<noun2>').replace('P<plural>', 'P<plural2>')}"
    rf"\s+(?P<num2>\d{{1,2}})(?![\d.]|\s*(?:s|secs?|seconds?|ms|min|%|x|×|px|pt|times|percent)(?![a-z]))"
)
_EN_EVERY_REF = re.compile(
    rf"(?<![a-z])(?:(?P<q>all|every|each|both)\s+(?:of\s+)?(?:the\s+|my\s+|these\s+|those\s+)?"
    rf"|(?P<det>the|my|these|those|your)\s+(?=[a-z ]*?(?:es|s)(?![a-z])))"
    rf"(?:(?P<orient>{_EN_ORIENT})\s+)?{_EN_NOUN}(?![a-z])"
)
_PRONOUN = re.compile(r"(?<![a-z])(?:it|its|it's|them|their|this one|that one)(?![a-z])|它们?|这个|那个")


@dataclass(frozen=True)
class Ref:
    """What a phrase points at: a kind of item, and which of them."""

    kind: str  # image, gif, clip, video, item, color, title, caption, text, music, pronoun
    count: Quantity = "one"
    index: int | None = None  # 1-based; negative counts from the end
    take: int = 1  # how many from ``index`` on: "the last two photos" is index -2, take 2
    name: str | None = None  # a file name or its stem, lower-case
    text: str | None = None  # the words of a text item
    orient: str | None = None
    span: tuple[int, int] = field(default=(0, 0), compare=False)

    def as_arg(self) -> str:
        """A short description for the tool's arguments."""
        parts = [self.count if self.count != "one" else "", self.orient or "", self.kind]
        if self.index is not None:
            parts.insert(0, f"#{self.index}" + (f"..#{self.index + self.take - 1}" if self.take > 1 else ""))
        if self.name:
            parts.append(repr(self.name))
        if self.text:
            parts.append(repr(self.text))
        return " ".join(p for p in parts if p)


class _Found:
    """References found so far; a later, weaker reading never takes words an earlier one took."""

    def __init__(self) -> None:
        self.refs: list[Ref] = []

    def add(self, ref: Ref) -> None:
        if not any(r.span[0] < ref.span[1] and ref.span[0] < r.span[1] for r in self.refs):
            self.refs.append(ref)


def find(text: str, quotes: list[str], stems: Sequence[str] = (), names: Sequence[str] = ()) -> list[Ref]:
    """Every reference in a folded clause (``words.fold``), in order, none overlapping.

    ``names``: the project's file names (lower-case); ``stems``: the same without extensions. The
    most specific readings go first: file names, quoted texts, Chinese, English ordinals, names
    without extension, "all the …", then bare nouns and pronouns.
    """
    found = _Found()
    _file_refs(found, text, names)
    _text_refs(found, text, quotes)
    _zh_refs(found, text)
    _en_indexed_refs(found, text)
    _stem_refs(found, text, stems, names)
    _en_plain_refs(found, text)
    return sorted(found.refs, key=lambda r: r.span)


def _file_refs(found: _Found, text: str, names: Sequence[str]) -> None:
    files = [(m.group(1), m.span()) for m in _FILE.finditer(text)]
    for name in names:
        files += [(name, m.span()) for m in re.finditer(rf"(?<![a-z0-9_\-]){re.escape(name)}(?![a-z0-9])", text)]
    for name, span in sorted(files, key=lambda f: (f[1][0], -f[1][1])):
        found.add(Ref(_file_kind(name), name=name, span=span))


def _ordinal(word: str) -> int:
    return int(word[:-2]) if word[0].isdigit() else _ORDINALS[word]


_COUNTS: Final = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_EN_RUN_REF = re.compile(
    rf"(?<![a-z])(?:the\s+)?(?P<edge>first|last)\s+(?P<n>{_alternatives(_COUNTS)}|\d{{1,2}})\s+{_EN_NOUN}(?![a-z])"
)
_ZH_RUN_REF = re.compile(r"(?P<edge>前|最后|后)(?P<n>[两二三四五六七八九十]|\d{1,2})(?P<counter>[张个段幅])")


def _run(edge: str, count: int) -> tuple[int, int]:
    """(index, take) of "the first three" / "the last two"."""
    return (1, count) if edge in {"first", "前"} else (-count, count)


def _en_indexed_refs(found: _Found, text: str) -> None:
    """ "the first two photos", "the first and second images", "the second image", "clip 2"."""
    for match in _EN_RUN_REF.finditer(text):
        number = match.group("n")
        index, take = _run(match.group("edge"), _COUNTS.get(number) or int(number))
        found.add(Ref(_EN_NOUNS[match.group("noun")], index=index, take=take, span=match.span()))
    for match in _EN_PAIR_REF.finditer(text):
        for group in ("a", "b"):
            found.add(Ref(_EN_NOUNS[match.group("noun")], index=_ordinal(match.group(group)), span=match.span(group)))
    for match in _EN_ORDINAL_REF.finditer(text):
        orient = _ORIENTS.get(match.group("orient") or "")
        found.add(
            Ref(_EN_NOUNS[match.group("noun")], index=_ordinal(match.group("ord")), orient=orient, span=match.span())
        )
    for match in _EN_NUMBERED_REF.finditer(text):
        noun = match.group("noun") or match.group("noun2")
        number = match.group("num") or match.group("num2")
        found.add(Ref(_EN_NOUNS[noun], index=int(number), span=match.span()))


def _stem_refs(found: _Found, text: str, stems: Sequence[str], names: Sequence[str]) -> None:
    """Media called by name without its extension: "the city photo", "the logo", "walk的视频"."""
    if not stems:
        return
    alternatives = _alternatives(stems)
    pattern = re.compile(
        rf"(?<![\w])(?:the\s+)?(?P<stem>{alternatives})\s+(?:photo|image|picture|pic|clip|video|shot|one|gif|song|"
        rf"music|track)(?![a-z])|(?<![\w])(?P<bare>{alternatives})(?=\s*(?:的)?(?:图片|照片|视频|片段|动图))"
        rf"|(?<![a-z])(?:the|my)\s+(?P<named>{alternatives})(?![\w.])"
    )
    for match in pattern.finditer(text):
        stem = match.group("stem") or match.group("bare") or match.group("named")
        # The file's own kind: "the song" is music, "the walk clip" a clip.
        full = next((n for n in names if n.rsplit(".", 1)[0] == stem), stem)
        found.add(Ref(_file_kind(full), name=stem, span=match.span()))


_EN_SINGULAR = re.compile(
    rf"(?<![a-z])(?:(?P<det>the|this|that|my|your)\s+)?(?:(?P<orient>{_EN_ORIENT})\s+)?{_EN_NOUN}(?![a-z])"
)


def _en_plain_refs(found: _Found, text: str) -> None:
    """ "all the photos", "the clip", "the portrait photo", "photos", "it"."""
    for match in _EN_EVERY_REF.finditer(text):
        if match.group("det") and not match.group("plural"):
            continue
        orient = _ORIENTS.get(match.group("orient") or "")
        found.add(Ref(_EN_NOUNS[match.group("noun")], "all", orient=orient, span=match.span()))
    for match in _EN_SINGULAR.finditer(text):
        noun, plural = match.group("noun"), match.group("plural")
        if plural and re.search(rf"(?:\d|{_alternatives(_COUNTS)})\s+$", text[: match.start()]):
            continue  # "two photos" is not all of them, and which two is not said
        if re.search(r"(?:whole|entire|full|complete)\s+$", text[: match.start()]):
            continue  # "the whole picture" is the frame, not an item
        if noun == "one" and not (match.group("orient") or match.group("det") in {"this", "that"}):
            continue  # "one" as a number
        if noun in {"line", "words", "label"} and not match.group("det") and not plural:
            continue
        count: Quantity = "all" if plural and noun != "music" else "one"
        orient = _ORIENTS.get(match.group("orient") or "")
        found.add(Ref(_EN_NOUNS[noun], count, orient=orient, span=match.span()))
    for match in _PRONOUN.finditer(text):
        found.add(Ref("pronoun", span=match.span()))


def _file_kind(name: str) -> str:
    ext = name.rsplit(".", 1)[-1]
    if ext == "gif":
        return "gif"
    found = FORMATS.get(ext)
    return {"image": "image", "video": "clip", "audio": "music"}.get(found[0] if found else "", "item")


_TEXT_NOUNS_EN = r"title|caption|subtitle|text|heading|headline|line|label"
_TEXT_NOUNS_ZH = r"标题|字幕|文字|文本|文案"


def _text_refs(found: _Found, text: str, quotes: list[str]) -> None:
    """A text item named by its words: "the caption 'Day one'", "the 'Day one' title", "字幕「第一天」"."""
    pattern = re.compile(
        rf"(?:(?<![a-z])(?:the\s+)?(?P<n1>{_TEXT_NOUNS_EN})(?:\s+(?:that says|saying|reading|with))?\s*"
        rf"|(?P<z1>{_TEXT_NOUNS_ZH})\s*)(?P<q1>{words.QUOTE_TOKEN.pattern})"
        rf"|(?:the\s+)?(?P<q2>{words.QUOTE_TOKEN.pattern})\s*(?:(?P<n2>{_TEXT_NOUNS_EN})(?![a-z])"
        rf"|(?P<z2>{_TEXT_NOUNS_ZH}))"
    )
    for match in pattern.finditer(text):
        token = match.group("q1") or match.group("q2")
        noun = match.group("n1") or match.group("n2")
        zh = match.group("z1") or match.group("z2")
        kind = _EN_NOUNS.get(noun or "", "text") if noun else _ZH_NOUNS.get(zh or "", "text")
        found.add(Ref(kind, text=quotes[words.quote_index(token)], span=match.span()))


_ZH_NOUN = _alternatives(_ZH_NOUNS)
_ZH_ORDINAL = re.compile(
    rf"(?P<back>倒数)?第(?P<num>\d+)(?P<counter>[张幅段个条首])?(?!秒|\d)(?:的)?(?P<noun>{_ZH_NOUN})?"
)
_ZH_LAST = re.compile(
    rf"最后(?:一|1)?(?P<counter>[张幅段个条首])(?:的)?(?P<noun>{_ZH_NOUN})?|最后的(?P<noun2>{_ZH_NOUN})"
)
_ZH_EVERY = re.compile(rf"(?:所有|全部|每[一1]?(?P<counter>[张幅段个条首]))(?:的)?(?P<noun>{_ZH_NOUN})?")
_ZH_ORIENT = re.compile(
    rf"(?:[这那]?[张个])?(?P<orient>{_alternatives([k for k in _ORIENTS if not k.isascii()])})"
    rf"(?:的)?(?:那?[张个])?(?P<noun>图片"
    rf"|照片|相片|图)"
)
_ZH_BARE = re.compile(rf"(?:这|那)?(?:[张个段])?(?P<noun>{_ZH_NOUN})")


def _zh_refs(found: _Found, text: str) -> None:
    for match in _ZH_RUN_REF.finditer(text):
        number = match.group("n")
        count = int(number) if number.isdigit() else words.zh_number(number)
        index, take = _run(match.group("edge"), count)
        found.add(Ref(_zh_kind(None, match.group("counter")), index=index, take=take, span=match.span()))
    for match in _ZH_ORDINAL.finditer(text):
        if not (match.group("counter") or match.group("noun")):
            continue
        kind = _zh_kind(match.group("noun"), match.group("counter"))
        number = int(match.group("num"))
        found.add(Ref(kind, index=-number if match.group("back") else number, span=match.span()))
    for match in _ZH_LAST.finditer(text):
        kind = _zh_kind(match.group("noun") or match.group("noun2"), match.group("counter"))
        found.add(Ref(kind, index=-1, span=match.span()))
    for match in _ZH_EVERY.finditer(text):
        found.add(Ref(_zh_kind(match.group("noun"), match.group("counter")), "all", span=match.span()))
    for match in _ZH_ORIENT.finditer(text):
        found.add(Ref("image", orient=_ORIENTS[match.group("orient")], span=match.span()))
    for match in _ZH_BARE.finditer(text):
        kind = _ZH_NOUNS[match.group("noun")]
        # Chinese nouns have no plural: "照片不要裁剪" means every photo, "删除视频片段" the one clip.
        found.add(Ref(kind, "any" if kind in {"image", "gif", "caption", "text"} else "one", span=match.span()))


def _zh_kind(noun: str | None, counter: str | None) -> str:
    if noun:
        return _ZH_NOUNS[noun]
    return _ZH_COUNTERS.get(counter or "", "item")


# --- resolving ----------------------------------------------------------------------------------

# A reference's kind → the kind of item it counts.
_COUNTED: Final = {"image": "image", "gif": "gif", "clip": "video", "video": "video", "color": "color"}
_EXAMPLES: Final = {
    "image": Said("the second photo", "第二张照片"),
    "gif": Said("the first GIF", "第一个动图"),
    "clip": Said("the first clip", "第一段视频片段"),
}


def _pool(project: Project, kind: str) -> list[dict[str, Any]]:
    counted = _COUNTED.get(kind)
    return [s for s in project.video if counted is None or project.kind(s) == counted]


def _name_matches(seg: dict[str, Any], name: str) -> bool:
    return is_called(keys.read_text(seg, keys.NAME) or formats.file_name(str(seg.get("src", ""))), name)


def items(project: Project, ref: Ref, *, many: bool = False) -> list[dict[str, Any]]:
    """The video-track items ``ref`` points at; ``many``: a bare noun means all of them."""
    counted = _COUNTED.get(ref.kind, "item")
    if ref.name:
        pool = [s for s in project.video if _name_matches(s, ref.name)]
        if not pool:
            raise Refusal("no_such_item", what=Said(ref.name))
        return pool if ref.count == "all" or many else pool[:1]
    pool = _pool(project, ref.kind)
    if ref.orient:
        pool = [s for s in pool if project.facts(s).orientation == ref.orient]
    if not pool:
        raise Refusal("no_such_item", what=Noun(counted))
    if ref.index is not None:
        position = ref.index - 1 if ref.index > 0 else len(pool) + ref.index
        if position < 0 or position + ref.take > len(pool):
            raise Refusal("only_n", count=Count(len(pool), counted))
        return pool[position : position + ref.take]
    if ref.count == "all" or (ref.count == "any" and many) or len(pool) == 1:
        return pool
    names = Listing(tuple(project.label(s) for s in pool))
    raise Refusal(
        "which_one",
        what=Noun(counted),
        n=len(pool),
        names=names,
        example=_EXAMPLES.get(ref.kind, Said("the second one", "第二个")),
    )


def texts(project: Project, ref: Ref, *, many: bool = False) -> list[dict[str, Any]]:
    """The text items ``ref`` points at ("the title" is the first text to appear)."""
    pool = project.texts
    if not pool:
        raise Refusal("no_text")
    if ref.text:
        wanted = ref.text.casefold().strip()
        exact = [s for s in pool if (keys.read_text(s, keys.TEXT) or "").casefold().strip() == wanted]
        close = exact or [s for s in pool if wanted in (keys.read_text(s, keys.TEXT) or "").casefold()]
        if not close:
            raise Refusal("no_text_saying", text=Said(ref.text), names=_text_names(pool))
        return close[:1]
    if ref.index is not None:
        position = ref.index - 1 if ref.index > 0 else len(pool) + ref.index
        if not 0 <= position < len(pool):
            raise Refusal("only_n", count=Count(len(pool), "text"))
        return [pool[position]]
    if ref.count == "all" or (ref.count == "any" and many):
        return pool
    if ref.kind == "title" or len(pool) == 1:
        return pool[:1]
    captions = pool[1:]
    if ref.kind == "caption" and len(captions) == 1:
        return captions
    raise Refusal(
        "which_one",
        what=Noun("text"),
        n=len(pool),
        names=_text_names(pool),
        example=Said("the caption 'Day one'", "字幕「第一天」"),
    )


def _text_names(pool: list[dict[str, Any]]) -> Listing:
    return Listing(tuple(Said(keys.read_text(s, keys.TEXT) or "") for s in pool))


def text_label(seg: dict[str, Any]) -> Item:
    return Item("text", keys.read_text(seg, keys.TEXT) or "")
