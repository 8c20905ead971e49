"""The per-install secret of the offline backend: the only key to its API.

Random, 32 bytes, kept in ``<state dir>/local/secret`` (mode 0600, in a 0700 folder), and the
same for every process serving that state dir, so a client of one process can use the URLs
another signed. A web page or another local user who does not have it gets nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
from pathlib import Path

from nemo_mcp.aside import move_aside

log = logging.getLogger(__name__)

SECRET_FILE = "secret"
_WELL_FORMED = re.compile(r"[A-Za-z0-9_-]{43,}")  # token_urlsafe(32) and anything longer


def install_secret(folder: Path, warnings: list[str]) -> str:
    """The folder's secret, made on first use; a damaged one is moved aside (and said in ``warnings``)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):  # a folder we do not own keeps its mode; the file is still ours
        os.chmod(folder, 0o700)
    path = folder / SECRET_FILE
    while True:
        try:
            text = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            _create(path)  # then read it back: ours, or the one a process racing us made first
            continue
        except (OSError, UnicodeDecodeError) as exc:
            text = f"<unreadable: {exc}>"
        if _WELL_FORMED.fullmatch(text):
            if os.name == "posix" and path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)
            return text
        aside = move_aside(path)
        message = f"The local backend's secret {path} was damaged; it was moved to {aside.name} and a new one made."
        log.warning("%s", message)
        warnings.append(message)


def _create(path: Path) -> None:
    """Write a new secret, complete or not at all, unless another process has made one meanwhile."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_urlsafe(32) + "\n")
    try:
        os.link(tmp, path)  # refuses to replace: the first process to make one wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
