"""Benchmarks of nemo-mcp against baselines measured in the same run.

    python -m bench [--quick]

Starts the NemoVideo emulator on 127.0.0.1 (in its own process), measures each row against a
baseline taken in the same run (machines are noisy; absolute times are not comparable between
runs) and prints one table: measure, baseline, ours, ratio or added time, target, PASS/MISS.

Modules: ``common`` (processes, /proc, statistics, the table), ``emulator_proc`` (the emulator
process with a recorder of streamed event times and a small control API), ``latency``
(get_credits, SSE → progress, cold start, concurrent calls), ``transfer`` (200 MB upload and
download against curl) and ``render_row`` (runs ``bench/render.py``: the renderer against a
hand-written ffmpeg command, and render_frames).
"""
