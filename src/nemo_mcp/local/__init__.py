"""The offline backend's editor and renderer (``NEMO_BACKEND=local``).

``LocalEditor`` interprets plain instructions into timeline edits; ``FfmpegRenderer``
renders a draft to MP4 with the ffmpeg of the ``local`` extra (imageio-ffmpeg) or
``NEMO_FFMPEG``, and ``render_frames`` renders JPEG frames of it at chosen times. They take a
``resolve(url) -> Path | None`` that maps media URLs to files. ``find_font(text)`` names the font
texts are drawn with (``None``: nothing here has the text's script).
"""

from __future__ import annotations

from nemo_mcp.local.editor import LocalEditor
from nemo_mcp.local.fonts import find_font
from nemo_mcp.local.probe import MediaInfo, ffmpeg_exe, probe
from nemo_mcp.local.render import FfmpegRenderer, Frame, RenderError, render_frames

__all__ = [
    "FfmpegRenderer",
    "Frame",
    "LocalEditor",
    "MediaInfo",
    "RenderError",
    "ffmpeg_exe",
    "find_font",
    "probe",
    "render_frames",
]
