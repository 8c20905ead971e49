"""An instruction cut into clauses, and what each clause names: items, texts, times, levels, colours.

"remove the second image and move the clip to the start" is two requests; "fade in and out",
"between 2 and 6 seconds", "swap the first and second images" and "第一张和第二张" are one each,
so those "and"s are protected before the cut. Quoted text is masked first, so a title may say
anything ("Red and Blue, 5 seconds") without being read as a request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Final

from nemo_mcp.local.editor import refs, words
from nemo_mcp.local.editor.refs import Ref

_KEEP: Final = "\ue001"  # a protected "and": private-use, never a separator
_KEEP_ZH: Final = "\ue002"  # a protected "和"
_ORDINAL_WORDS = r"first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|\d+(?:st|nd|rd|th)"
# Each pattern keeps its first group and protects the "and" (or 和) after it.
_PROTECTED: Final = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"(\bin) and (?=out\b)",
        r"(\bout) and (?=in\b)",
        r"(\d(?:\s*(?:s|secs?|seconds?))?) and (?=\d)",
        rf"(\b(?:{_ORDINAL_WORDS})(?: (?:image|photo|picture|clip|item|one|title"
        rf"|caption)s?)?) and (?=(?:the )?(?:{_ORDINAL_WORDS})\b)",
        r"(\.(?:png|jpg|jpeg|gif|webp|mp4|mov|avi|webm|mkv)) and (?=\S)",
        r"(\bblack) and (?=white\b)",
        r"(\b(?:swap|switch|exchange|trade)\b[^,;.!?]*?) and (?=\S)",
        r"((?:交换|互换|调换|对调)[^，,。；;]*?)和",
        r"([张个段幅])和(?=第|最后)",
        r"(淡入)和(?=淡出)",
        r"(\.(?:png|jpg|jpeg|gif|mp4|mov))和",
    )
)
# "with a blurred background", "with the text 'X'" belong to the clause before them.
_SPLIT: Final = re.compile(
    r"\s*(?:[,;!?\n，。；！？、](?!\s*(?:写着|写上|内容是|文字是|that says|which says|saying|reading|says))|\.(?=\s|$)"
    r"|(?<![\w])(?:and then|and also|and|then|also|plus|after that|as well as)(?![\w])"
    r"|(?<![\w])(?<!start )(?<!begin )(?<!open )(?<!end )(?<!finish )(?<!close )(?<!starts )(?<!ends )with(?![\w])"
    r"(?!\s+(?:(?:a|an|the)\s+)?(?:(?!and\b|then\b)[a-z-]+\s+){0,2}(?:background|bars|border|text|words)\b)"
    r"|然后|并且|而且|还有(?!多少|几|吗|没有)|以及|同时|接着|并|和)\s*",
    re.IGNORECASE,
)
_FILLER: Final = re.compile(
    r"^(?:please|pls|plz|thanks|thank you|thx|ok|okay|great|cool|nice|perfect|awesome|hi|hello|hey|now|too|"
    r"as well|for me|again|yes|sure|谢谢|请|好的|好|嗯|麻烦了|辛苦了|就这样|可以)?\W*$",
    re.IGNORECASE,
)


def split(instruction: str) -> tuple[list[str], list[str]]:
    """(the clauses, with quotes masked; the quoted phrases they point at)."""
    masked, quotes = words.mask_quotes(instruction)
    for pattern in _PROTECTED:
        masked = pattern.sub(lambda m: m.group(1) + (_KEEP_ZH if m.group(0).endswith("和") else _KEEP), masked)
    pieces = [p.replace(_KEEP, " and ").replace(_KEEP_ZH, "和").strip() for p in _SPLIT.split(masked)]
    return [p for p in pieces if p and not _FILLER.match(p)], quotes


@dataclass
class Clause:
    """One request: its text as written (quotes masked) and folded for matching, and what it names."""

    raw: str
    quotes: list[str]
    stems: list[str] = field(default_factory=list)  # the project's file names without extensions
    names: list[str] = field(default_factory=list)  # and with them, lower-case

    @cached_property
    def text(self) -> str:
        return words.fold(self.raw)

    @cached_property
    def refs(self) -> list[Ref]:
        return refs.find(self.text, self.quotes, self.stems, self.names)

    @cached_property
    def rest(self) -> str:
        """The text with the references blanked out: "the portrait photo" is not "portrait"."""
        chars = list(self.text)
        for ref in self.refs:
            for i in range(*ref.span):
                chars[i] = " "
        return "".join(chars)

    @cached_property
    def said(self) -> list[str]:
        """The quoted phrases of this clause, in order."""
        return [self.quotes[words.quote_index(m.group(0))] for m in words.QUOTE_TOKEN.finditer(self.raw)]

    @cached_property
    def times(self) -> words.Times:
        return words.times(self.text)

    @cached_property
    def colours(self) -> list[str]:
        return words.colours(self.rest)

    def shown(self) -> str:
        """The clause as the user wrote it, quotes restored (for "I didn't understand …")."""
        return words.QUOTE_TOKEN.sub(lambda m: f"'{self.quotes[words.quote_index(m.group(0))]}'", self.raw).strip()

    def has(self, pattern: re.Pattern[str], *, in_rest: bool = True) -> bool:
        return bool(pattern.search(self.rest if in_rest else self.text))

    def first(self, *kinds: str) -> Ref | None:
        return next((r for r in self.refs if r.kind in kinds), None)

    def all(self, *kinds: str) -> list[Ref]:
        return [r for r in self.refs if r.kind in kinds]

    @property
    def pronoun(self) -> bool:
        return any(r.kind == "pronoun" for r in self.refs)
