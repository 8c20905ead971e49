"""A realistic project for the offline editor's tests: the media a new user brings, made with ffmpeg.

Three landscape photos, a portrait one, a square one, a 1280x720 clip with sound, a 40 s song and
an animated GIF — the set issue #12 was tried with. Upload records are what the API server
stores for them (``apiserver.media.describe``: sizes for images, nothing else known).
"""

from __future__ import annotations

import copy
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nemo_mcp.apiserver.media import describe
from nemo_mcp.local.editor import EditRequest, EditResult, LocalEditor
from nemo_mcp.local.probe import ffmpeg_exe

BASE = "http://127.0.0.1:9/media/s1/"

# name → (kind, ffmpeg arguments making it)
MEDIA: dict[str, tuple[str, list[str]]] = {
    "city.png": ("image", ["-f", "lavfi", "-i", "testsrc2=s=1600x900", "-frames:v", "1"]),
    "park.jpg": ("image", ["-f", "lavfi", "-i", "testsrc2=s=1200x800", "-frames:v", "1"]),
    "tower.png": ("image", ["-f", "lavfi", "-i", "testsrc2=s=900x1600", "-frames:v", "1"]),
    "walk.mp4": ("video", [
        "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=10", "-f", "lavfi", "-i", "sine=f=440:sample_rate=44100",
        "-t", "8", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
    ]),
    "beach.png": ("image", ["-f", "lavfi", "-i", "testsrc2=s=1280x720", "-frames:v", "1"]),
    "logo.png": ("image", ["-f", "lavfi", "-i", "testsrc2=s=800x800", "-frames:v", "1"]),
    "dance.gif": ("image", ["-f", "lavfi", "-i", "testsrc2=s=160x160:r=10", "-t", "1.5"]),
    "song.mp3": ("audio", ["-f", "lavfi", "-i", "sine=f=220:sample_rate=22050", "-t", "40", "-c:a", "libmp3lame"]),
}  # fmt: skip


def make_media(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for name, (_, args) in MEDIA.items():
        path = folder / name
        subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-v", "error", "-nostdin", "-y", *args, str(path)], check=True, timeout=120
        )
        made[name] = path
    return made


def upload_records(files: dict[str, Path]) -> list[dict[str, Any]]:
    """The API's video_infos for these files, in upload order."""
    records = []
    for name, path in files.items():
        kind = MEDIA[name][0]
        records.append(
            {"filename": name, "file_type": kind, "cdn_url": BASE + name, **describe(path, kind), "hash": name}
        )
    return records


def editor_for(files: dict[str, Path], **kw: Any) -> LocalEditor:
    def resolve(url: str) -> Path | None:
        return files.get(url.removeprefix(BASE)) if url.startswith(BASE) else None

    return LocalEditor(resolve, **kw)


def new_draft() -> dict[str, Any]:
    """A fresh session's draft, as the server makes it."""
    return {"t": [], "d": 0, "m": {"title": "project", "width": 1080, "height": 1920}}


@dataclass
class Session:
    """Runs instructions as the API server does: it keeps the undo history and never lets the editor
    touch its stored draft."""

    editor: LocalEditor
    uploads: list[dict[str, Any]]
    language: str = "en"
    draft: dict[str, Any] = field(default_factory=new_draft)
    history: list[dict[str, Any]] = field(default_factory=list)

    def say(self, instruction: str) -> EditResult:
        given = copy.deepcopy(self.draft)
        request = EditRequest("s1", given, instruction, self.uploads, self.language, copy.deepcopy(self.history))
        result = self.editor.edit(request)
        assert given == self.draft, "the editor changed the draft it was given"
        assert result.draft is not given
        if result.reverted:
            assert result.draft == self.history.pop()
        elif result.draft != self.draft:
            self.history.append(self.draft)
        self.draft = result.draft
        return result

    def fork(self, language: str | None = None) -> Session:
        """The same project in another session (sharing the editor), to try an instruction on."""
        return Session(
            self.editor,
            copy.deepcopy(self.uploads),
            language or self.language,
            copy.deepcopy(self.draft),
            copy.deepcopy(self.history),
        )

    def track(self, tt: int) -> list[dict[str, Any]]:
        return next((t["sg"] for t in self.draft.get("t", []) if t.get("tt") == tt), [])


# What a reply that claims a change looks like, written independently of the editor's own wording
# table: a sentence starting with a verb of change, or Chinese 已…/好了.
CLAIM = re.compile(
    r"(?:^|[.!?]\s+|\n)(?:Done|Added|Removed|Moved|Changed|Set|Switched|Trimmed|Muted|Turned|Made|Retimed|Reversed|"
    r"Swapped|Restyled|Cleared|Undone|I put|I retimed|I made)\b"
    r"|(?:^|[。！？\n])(?:好了|已添加|已删除|已把|已修改|已交换|已去掉|已撤销|已清空|已改|我把|我调整了)"
)


def claims_change(reply: str) -> bool:
    return bool(CLAIM.search(reply))
