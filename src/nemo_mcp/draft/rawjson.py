"""The exact text of one value inside a JSON document, without re-serialising anything.

Exports must send the draft back exactly as the API sent it: parsing and dumping a copy could
change number formats, escapes, key order or duplicate keys. Values off the path are skipped by
the standard library's C scanner (a 4,000-segment draft in a few milliseconds, where a scanner
in Python took over 100); a document nested too deep for it falls back to an iterative scanner,
so a hostile one nested a million levels deep costs time, not the stack.
"""

from __future__ import annotations

import json
import json.scanner
import re

_WS = " \t\n\r"
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_scan_string = json.decoder.scanstring  # type: ignore[attr-defined]
_scan_value = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
# NaN and Infinity are not JSON, but json.loads takes them; so must we.
_WORDS = ("true", "false", "null", "NaN", "Infinity", "-Infinity")


def member_text(text: str, path: tuple[str, ...]) -> str | None:
    """The source text of the value at ``path`` (object keys from the top), or None.

    None also when the document is not well-formed up to the end of the top-level value.
    Where a key repeats, the last one wins, as in :func:`json.loads`.
    """
    try:
        start = _skip_ws(text, 0)
        span = _find(text, start, path)[0]
    except (ValueError, IndexError):
        return None
    return text[span[0] : span[1]] if span else None


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _find(text: str, i: int, path: tuple[str, ...]) -> tuple[tuple[int, int] | None, int]:
    """(span of the value at ``path`` within the value at ``i``, or None; the index after it).

    Recursion here is bounded by ``len(path)``; everything off the path is skipped iteratively.
    """
    if not path or text[i] != "{":
        end = _skip_value(text, i)
        return ((i, end) if not path else None), end
    found: tuple[int, int] | None = None
    i = _skip_ws(text, i + 1)
    if text[i] == "}":
        return None, i + 1
    while True:
        key, i = _key(text, i)
        if key == path[0]:
            found, i = _find(text, i, path[1:])
        else:
            i = _skip_value(text, i)
        i = _skip_ws(text, i)
        if text[i] == "}":
            return found, i + 1
        if text[i] != ",":
            raise ValueError("comma expected")
        i = _skip_ws(text, i + 1)


def _key(text: str, i: int) -> tuple[str, int]:
    """An object key and its colon at ``i``: (the key, the index of its value)."""
    if text[i] != '"':
        raise ValueError("key expected")
    key, i = _scan_string(text, i + 1)
    i = _skip_ws(text, i)
    if text[i] != ":":
        raise ValueError("colon expected")
    return str(key), _skip_ws(text, i + 1)


def _skip_value(text: str, i: int) -> int:
    """The index just after the JSON value starting at ``i``."""
    try:
        return int(_scan_value(text, i)[1])
    except StopIteration:
        raise ValueError("value expected") from None
    except RecursionError:
        return _skip_iteratively(text, i)


def _skip_iteratively(text: str, i: int) -> int:
    """:func:`_skip_value` without recursion, for documents nested deeper than the C scanner goes."""
    closers: list[str] = []
    while True:
        ch = text[i]
        if ch == '"':
            i = int(_scan_string(text, i + 1)[1])
        elif ch in "{[":
            close = "}" if ch == "{" else "]"
            i = _skip_ws(text, i + 1)
            if text[i] == close:
                i += 1
            else:
                closers.append(close)
                if close == "}":
                    i = _key(text, i)[1]
                continue
        else:
            word = next((w for w in _WORDS if text.startswith(w, i)), None)
            if word is not None:
                i += len(word)
            else:
                match = _NUMBER.match(text, i)
                if not match:
                    raise ValueError("value expected")
                i = match.end()
        # After a value: close what it ended, or move on to the container's next member.
        while closers:
            i = _skip_ws(text, i)
            if text[i] == closers[-1]:
                closers.pop()
                i += 1
            elif text[i] == ",":
                i = _skip_ws(text, i + 1)
                if closers[-1] == "}":
                    i = _key(text, i)[1]
                break
            else:
                raise ValueError("comma expected")
        else:
            return i
