"""The offline backend (``NEMO_BACKEND=local``): one module per part, imported by what needs it.

``backend.LocalBackend`` serves the API on 127.0.0.1 with ``editor.LocalEditor`` (plain
instructions into timeline edits) and ``render.FfmpegRenderer`` (a draft to MP4 with the ffmpeg
of the ``local`` extra, imageio-ffmpeg, or ``NEMO_FFMPEG``; ``render.render_frames`` makes JPEG
frames of it). ``probe`` reads media with ffmpeg; ``fonts.find_font(text)`` names the font a text
is drawn with. Nothing is imported here: the cloud server reaches for ``probe`` or ``render``
alone (``get_frames``, ``doctor``) without loading the editor and the API server.
"""
