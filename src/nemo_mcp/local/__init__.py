"""The offline backend's editor and renderer (``NEMO_BACKEND=local``).

``LocalEditor`` interprets plain instructions into timeline edits; ``FfmpegRenderer``
renders a draft to MP4 with the ffmpeg of the ``local`` extra (imageio-ffmpeg) or
``NEMO_FFMPEG``. Both take a ``resolve(url) -> Path | None`` that maps media URLs to files.
"""

from __future__ import annotations

from nemo_mcp.local.editor import LocalEditor
from nemo_mcp.local.probe import MediaInfo, ffmpeg_exe, probe
from nemo_mcp.local.render import FfmpegRenderer, RenderError

__all__ = ["FfmpegRenderer", "LocalEditor", "MediaInfo", "RenderError", "ffmpeg_exe", "probe"]
