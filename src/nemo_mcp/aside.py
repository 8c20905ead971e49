"""Setting a damaged file aside rather than deleting it, so that what it held can still be read.

Imports nothing heavy: the cloud server's state store uses it, and its cold start must stay fast.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path


def move_aside(path: Path, why: str = "corrupt", *, tolerant: bool = False) -> Path:
    """Rename ``path`` (and a database's -wal/-shm) to ``<name>.<why>-<UTC time>``, never over a file.

    ``tolerant``: a file that cannot be renamed is left where it is instead of raising, for a caller
    that goes on without it (in memory, or afresh) whatever happens.
    """
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = path.with_name(f"{path.name}.{why}-{stamp}")
    n = 1
    while os.path.exists(aside):
        n += 1
        aside = path.with_name(f"{path.name}.{why}-{stamp}-{n}")
    skipped = (OSError,) if tolerant else ()
    with contextlib.suppress(*skipped):
        os.replace(path, aside)
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if os.path.exists(companion):
            with contextlib.suppress(*skipped):
                os.replace(companion, aside.with_name(aside.name + suffix))
    return aside
