"""Reading single values out of JSON we do not control: what counts as an id, a code, a name."""

from __future__ import annotations

import math
from typing import Any


def ident(value: Any, allow_empty: bool = False) -> str | None:
    """A string, or an integer as its digits (ids come both ways); None for anything else."""
    if isinstance(value, str) and (value or allow_empty):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def int_code(value: Any) -> int | None:
    """An error code as int: ints, integral floats and ASCII digit strings ("SAFETY" is not one)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        stripped = value.strip()
        digits = stripped[1:] if stripped.startswith("-") else stripped
        if digits.isascii() and digits.isdigit():
            return int(stripped)
    return None
