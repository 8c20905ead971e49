"""The words an instruction is made of: quotes, numbers, times, percentages, speeds, colours, places.

Everything here reads English and Chinese alike and knows nothing about drafts. The parser
first masks quoted text (a title may say anything, "red" or "5 seconds" included), folds
full-width characters and Chinese numerals into ASCII digits, and lower-cases the rest; the
detectors below then read that normalised text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

# A single quote opens only where no letter precedes it and closes only where no letter follows,
# so apostrophes (it's, don't, the clip's) stay inside the text.
_QUOTES = re.compile(
    r"(?<![\w])'(?P<a>(?:[^'\n]|(?<=\w)'(?=\w))+?)'(?![\w])"
    r'|"(?P<b>[^"\n]+?)"'
    r"|“(?P<c>[^”\n]+?)”|‘(?P<d>[^’\n]+?)’|「(?P<e>[^」\n]+?)」|『(?P<f>[^』\n]+?)』|《(?P<g>[^》\n]+?)》"
)
# Private-use characters: never a keyword, a digit or a separator.
QUOTE_MARK: Final = "\ue000"
_QUOTE_BASE = 0xE100
QUOTE_TOKEN: Final = re.compile(QUOTE_MARK + "[\ue100-\ue1ff]")


def en(alternatives: str) -> str:
    """English words as a regex that also works next to Chinese (where ``\\b`` does not)."""
    return rf"(?<![a-z0-9])(?:{alternatives})(?![a-z])"


def mask_quotes(text: str) -> tuple[str, list[str]]:
    """The text with each quoted phrase replaced by a token, and the phrases in order."""
    quotes: list[str] = []

    def keep(match: re.Match[str]) -> str:
        quotes.append(next(group for group in match.groups() if group is not None).strip())
        return f" {QUOTE_MARK}{chr(_QUOTE_BASE + len(quotes) - 1)} "

    return _QUOTES.sub(keep, text), quotes


def quote_index(token: str) -> int:
    return ord(token[1]) - _QUOTE_BASE


# --- Chinese numerals -------------------------------------------------------------------------

_ZH_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_NUMERAL = "[零一二两三四五六七八九十百]+"
# Numerals are numbers in ordinals (第二张) and before units (五秒, 两倍); "大一点" ("a bit bigger") and
# "加一个" ("add a") keep their words.
_ZH_COUNTED = re.compile(
    rf"(?P<pre>第|倒数第|百分之)(?P<a>{_ZH_NUMERAL})|(?P<b>{_ZH_NUMERAL})(?P<unit>秒|倍|分钟|号|成)"
)


def zh_number(numeral: str) -> int:
    """一 → 1, 十五 → 15, 二十 → 20, 一百 → 100 (what instructions use)."""
    total, digit = 0, 0
    for char in numeral:
        if char == "百":
            total += max(digit, 1) * 100
            digit = 0
        elif char == "十":
            total += max(digit, 1) * 10
            digit = 0
        else:
            digit = _ZH_DIGITS[char]
    return total + digit


def _fold_zh_numbers(text: str) -> str:
    def arabic(match: re.Match[str]) -> str:
        if match.group("pre"):
            value = zh_number(match.group("a"))
            return f"{value}%" if match.group("pre") == "百分之" else f"{match.group('pre')}{value}"
        value = zh_number(match.group("b"))
        unit = match.group("unit")
        return f"{value * 10}%" if unit == "成" else f"{value}{unit}"

    text = re.sub(r"(\d+)秒半", lambda m: f"{m.group(1)}.5秒", text)
    text = text.replace("半秒", "0.5秒")
    return _ZH_COUNTED.sub(arabic, text)


def fold(text: str) -> str:
    """Masked text for matching: full-width folded, lower-case, Chinese numerals as digits, 0:05 as 5s."""
    folded = unicodedata.normalize("NFKC", text).lower()
    folded = _fold_zh_numbers(folded)
    # 0:05 → 5s (but not an aspect ratio such as 16:9).
    folded = re.sub(
        r"(?<![\d:])(\d{1,2}):([0-5]\d)(?![\d:])", lambda m: f"{int(m.group(1)) * 60 + int(m.group(2))}s", folded
    )
    return " ".join(folded.split())


# --- numbers and times ------------------------------------------------------------------------

_WORD_NUMBERS: Final = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "ninety": 90, "half a": 0.5, "half an": 0.5,
    "half": 0.5,
}  # fmt: skip
_NUM = r"(\d+(?:\.\d+)?|" + "|".join(sorted(_WORD_NUMBERS, key=len, reverse=True)) + r")"
_DIGITS = r"(\d+(?:\.\d+)?)"
_UNIT = r"(ms|milliseconds?|s|secs?|seconds?|秒钟?|min|mins|minutes?|分钟)"
# "a second title" is an ordinal, not a length of time ("a 5 second intro" is one).
_ORDINAL_NOUN = (
    r"\s+(?:title|caption|subtitle|text|image|photo|picture|pic|clip|video|one|item|line|song|track|copy|"
    r"slide|gif|time|layer|version|heading|label|music|intro|outro|scene|shot|look)\b"
)
_SECONDS = re.compile(rf"(?<![a-z0-9.])(?!(?:an?|one)\s+second{_ORDINAL_NOUN}){_NUM}\s*-?\s*{_UNIT}(?![a-z])")
_RANGE = re.compile(
    rf"(?:(?<![a-z])(?:from|between)\s+|从)?(?:the\s+)?{_DIGITS}\s*{_UNIT}?\s*"
    rf"(?:to|-|–|—|~|until|till|through|and|到|至)\s*(?:the\s+)?{_DIGITS}\s*{_UNIT}(?![a-z])"
)
_AT = re.compile(
    rf"(?:(?<![a-z])(?:at|from|starting at|starts? at|start(?:ing)? from|beginning at|after|in at)\s+(?:the\s+)?"
    rf"{_NUM}\s*-?\s*{_UNIT}(?:\s*mark)?(?![a-z])"
    rf"|(?:在|从)?第?{_DIGITS}\s*秒(?:处|时|的时候|开始|起|的位置))"
)
_FOR = re.compile(
    rf"(?<![a-z])(?:for|lasts?|lasting|last for|duration of|length of|long as)\s+(?:about\s+)?{_NUM}\s*-?\s*{_UNIT}"
    rf"|{_NUM}\s*-?\s*{_UNIT}\s*(?:long|in length)(?![a-z])"
    rf"|(?:持续|显示|停留|展示|时长)\s*{_DIGITS}\s*{_UNIT}"
)


def number(token: str) -> float:
    """A number as written: digits, or an English number word."""
    token = token.strip()
    return _WORD_NUMBERS[token] if token in _WORD_NUMBERS else float(token)


def _ms(value: str, unit: str | None) -> int:
    unit = (unit or "s").lower()
    if (unit.startswith("mi") and not unit.startswith("mil")) or unit == "分钟":
        factor = 60_000.0
    elif unit.startswith("ms") or unit.startswith("mil"):
        factor = 1.0
    else:
        factor = 1000.0
    return round(number(value) * factor)


@dataclass(frozen=True)
class Times:
    """The times a clause names, in ms: a range, a start ("at 5 s"), a length ("for 4 s"), all of them."""

    start: int | None = None
    end: int | None = None
    length: int | None = None
    values: tuple[int, ...] = ()

    @property
    def any(self) -> bool:
        return bool(self.values) or self.start is not None


def times(text: str) -> Times:
    values = tuple(_ms(m.group(1), m.group(2)) for m in _SECONDS.finditer(text))
    if match := _RANGE.search(text):
        first, last = _ms(match.group(1), match.group(2) or match.group(4)), _ms(match.group(3), match.group(4))
        if last > first:
            return Times(first, last, last - first, values or (first, last))
    start = length = None
    if match := _AT.search(text):
        start = _ms(match.group(1), match.group(2)) if match.group(1) else _ms(match.group(3), "s")
    if match := _FOR.search(text):
        groups = [g for g in match.groups()]
        pairs = [(groups[i], groups[i + 1]) for i in range(0, len(groups), 2)]
        value, unit = next((v, u) for v, u in pairs if v is not None)
        length = _ms(value, unit)
    return Times(start, None, length, values)


# --- volume and speed -------------------------------------------------------------------------

_PERCENT = re.compile(rf"(?<![a-z0-9.]){_NUM}\s*(?:%|percent|pct(?![a-z]))")
_FRACTION = re.compile(
    r"(?:volume|level|gain|音量)\s*(?:to|at|of|=|:|为|是|调到|设为|设置为)?\s*(0?\.\d+|1\.0|0|1)(?![\d%.])"
)
_FULL = re.compile(en("full volume|max(?:imum)? volume|full blast|all the way up") + "|最大音量|音量最大|最大声")
_HALF = re.compile(en(r"half (?:the )?volume|half as loud") + "|一半音量|音量减半")


def percent(text: str) -> float | None:
    """A level 0..1 from "40%", "40 percent", "百分之四十", "volume 0.4", "full volume"."""
    if match := _PERCENT.search(text):
        return max(0.0, min(number(match.group(1)) / 100, 1.0))
    if match := _FRACTION.search(text):
        return max(0.0, min(float(match.group(1)), 1.0))
    if _FULL.search(text):
        return 1.0
    if _HALF.search(text):
        return 0.5
    return None


_FACTOR = re.compile(
    r"(?<![a-z0-9.])(\d+(?:\.\d+)?)\s*(?:x|×|times)(?![a-z])|(?<![a-z])x\s*(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\s*倍"
)
_NAMED_SPEEDS: Final = (
    (re.compile(en(r"quarter speed|quarter as fast")), 0.25),
    (re.compile(en(r"half speed|half as fast|slow[- ]?mo(?:tion)?|slowmo")), 0.5),
    (re.compile(en(r"twice as fast|double speed|double time")), 2.0),
    (re.compile(en(r"normal speed|original speed|real[- ]?time|regular speed")), 1.0),
    (re.compile(r"慢动作|慢放|慢镜头"), 0.5),
    (re.compile(r"正常速度|原速|恢复速度"), 1.0),
)


def speed_factor(text: str) -> float | None:
    """An absolute playback speed ("2x", "half speed", "slow motion", "2倍速"), if one is named."""
    if match := _FACTOR.search(text):
        return float(next(g for g in match.groups() if g is not None))
    for pattern, value in _NAMED_SPEEDS:
        if pattern.search(text):
            return value
    return None


# --- steps: "a bit louder", "much smaller" ----------------------------------------------------

_UP = re.compile(
    en(
        r"up|louder|higher|raise|increase|boost|more|bigger|larger|faster|longer|speed up|turn up|crank|too quiet|"
        r"too soft|too low|can'?t hear|cannot hear|barely hear|hardly hear"
    )
    + r"|大声|大一?点|调高|提高|增大|加大|调大|大些|响一?点|大一些|更大"
    + r"|快一?点|加速|长一?点|更长|太小声?|听不见|听不到|太轻"
)
_DOWN = re.compile(
    en(
        r"down|quieter|softer|lower|decrease|reduce|less|smaller|slower|shorter|slow down|turn down|too loud"
        r"|too high|drowns"
    )
    + r"|小声|小一?点|调低|降低|减小|调小|轻一?点|小些|小一些|更小|慢一?点|减速|短一?点|更短|太大声?|太吵|太响"
)
_LITTLE = re.compile(en(r"a (?:little )?bit|slightly|a little|a touch|somewhat|a tad") + "|一点|一些|稍微|略")
_LOT = re.compile(en(r"a lot|much|way|lots|significantly|really") + "|很多|多一些|大幅|非常")


def step(text: str) -> float | None:
    """A relative change as a factor: "louder" 1.4, "a bit quieter" 0.8, "much bigger" 2.0; None if no step."""
    up, down = _UP.search(text), _DOWN.search(text)
    if not up and not down:
        return None
    going_up = up is not None and (down is None or up.start() > down.start())
    size = 1.25 if _LITTLE.search(text) else 2.0 if _LOT.search(text) else 1.4
    return size if going_up else 1 / size


# --- colours, places, sizes -------------------------------------------------------------------

COLOURS: Final[dict[str, str]] = {
    "light blue": "#add8e6", "sky blue": "#87ceeb", "dark blue": "#00008b", "navy": "#000080",
    "dark green": "#006400", "light green": "#90ee90", "dark red": "#8b0000", "light grey": "#d3d3d3",
    "light gray": "#d3d3d3", "dark grey": "#404040", "dark gray": "#404040",
    "red": "#ff0000", "orange": "#ffa500", "yellow": "#ffff00", "green": "#008000", "lime": "#00ff00",
    "blue": "#0000ff", "purple": "#800080", "violet": "#ee82ee", "pink": "#ffc0cb", "magenta": "#ff00ff",
    "white": "#ffffff", "black": "#000000", "grey": "#808080", "gray": "#808080", "gold": "#ffd700",
    "golden": "#ffd700", "brown": "#8b4513", "cyan": "#00ffff", "teal": "#008080", "silver": "#c0c0c0",
    "beige": "#f5f5dc", "maroon": "#800000", "turquoise": "#40e0d0", "coral": "#ff7f50",
    "天蓝": "#87ceeb", "浅蓝": "#add8e6", "深蓝": "#00008b", "藏青": "#000080", "深绿": "#006400",
    "浅绿": "#90ee90", "深红": "#8b0000", "浅灰": "#d3d3d3", "深灰": "#404040", "粉红": "#ffc0cb",
    "红": "#ff0000", "橙": "#ffa500", "橘": "#ffa500", "黄": "#ffff00", "绿": "#008000", "蓝": "#0000ff",
    "紫": "#800080", "粉": "#ffc0cb", "白": "#ffffff", "黑": "#000000", "灰": "#808080", "金": "#ffd700",
    "棕": "#8b4513", "褐": "#8b4513", "咖啡": "#8b4513", "青": "#00ffff", "银": "#c0c0c0",
}  # fmt: skip
_EN_COLOURS = "|".join(sorted((k for k in COLOURS if k.isascii()), key=len, reverse=True))
_ZH_LONG = "|".join(sorted((k for k in COLOURS if not k.isascii() and len(k) > 1), key=len, reverse=True))
_ZH_SHORT = "".join(k for k in COLOURS if not k.isascii() and len(k) == 1)
# One-character colours also start other words (青春, 黄昏): they need 色, or 字/底/背景 after them.
_COLOUR = re.compile(
    rf"#(?P<hex>[0-9a-f]{{6}}|[0-9a-f]{{3}})(?![0-9a-z])|{en(_EN_COLOURS)}"
    rf"|(?P<zh>{_ZH_LONG}|[{_ZH_SHORT}](?=色|字|底|背景))色?"
)


def colours(text: str) -> list[str]:
    """The colours named, in order, as ``#rrggbb``."""
    found: list[str] = []
    for match in _COLOUR.finditer(text):
        if match.group("hex"):
            value = match.group("hex")
            found.append("#" + ("".join(c * 2 for c in value) if len(value) == 3 else value))
        else:
            found.append(COLOURS[match.group("zh") or match.group(0)])
    return found


_POSITIONS: Final = (
    (
        "top",
        re.compile(
            en(r"top|upper|up top|above|higher(?: up)?|further up") + r"|顶部|顶端|上方|上面|上边|最上|顶上|上部"
        ),
    ),
    ("bottom", re.compile(en(r"bottom|lower third|lower|below|foot") + r"|底部|底端|下方|下面|下边|最下|底下|下部")),
    ("center", re.compile(en(r"cent(?:er|re)|middle|centered|centred") + r"|中间|居中|中央|正中|中部")),
)


def position(text: str) -> str | None:
    """``top``, ``center`` or ``bottom`` of the frame, if the text names one."""
    for name, pattern in _POSITIONS:
        if pattern.search(text):
            return name
    return None


_FONT_SIZE = re.compile(
    r"(?:(?<![a-z])(?:font size|text size|size|font)\s*(?:to|of|=|:)?\s*(\d{2,3})(?:\s*(?:px|pt|pixels?))?(?![\d%]))"
    r"|(?<![\d.])(\d{2,3})\s*(?:px|pt|pixels?)(?![a-z])|(?:字号|字体大小|字体|大小)\s*(?:为|是|改成|调到|设为)?\s*(\d{2,3})"
)


def font_size(text: str) -> int | None:
    if match := _FONT_SIZE.search(text):
        return int(next(g for g in match.groups() if g is not None))
    return None
