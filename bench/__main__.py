"""``python -m bench [--quick]``: every benchmark row against its same-run baseline, as one table."""

from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from bench import latency, long_timeline, render_row, transfer
from bench.common import EmulatorProcess, Row, Sizes, format_table, load_average, machine

Measure = Callable[[EmulatorProcess, Path, Sizes], Awaitable[Row]]


def _error_row(name: str, exc: BaseException) -> Row:
    return Row(name, "n/a", "n/a", f"{type(exc).__name__}: {str(exc)[:90]}", "", "ERROR")


async def _run_all(
    emu: EmulatorProcess, root: Path, sizes: Sizes, skip_render: bool, only: set[str] | None = None
) -> list[Row]:
    rows: list[Row] = []

    def wanted(name: str) -> bool:
        return only is None or name in only

    async def run(name: str, measure: Measure) -> None:
        if not wanted(name):
            return
        workdir = root / name
        workdir.mkdir()
        started = time.perf_counter()
        try:
            row = await measure(emu, workdir, sizes)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            row = _error_row(name, exc)
        print(f"  {name}: {row.verdict} ({time.perf_counter() - started:.1f} s)", file=sys.stderr, flush=True)
        rows.append(row)

    async def cold_start(emu: EmulatorProcess, workdir: Path, sizes: Sizes) -> Row:
        return await anyio.to_thread.run_sync(latency.cold_start_row, emu, workdir, sizes)

    async def summary(emu: EmulatorProcess, workdir: Path, sizes: Sizes) -> Row:
        return long_timeline.summary_row(sizes)

    await run("tool-call", latency.call_overhead_row)
    await run("long-timeline", long_timeline.get_state_row)
    await run("summary", summary)
    await run("sse", latency.sse_row)
    if transfer.curl_exe() is None:
        if wanted("upload") or wanted("download"):
            rows += transfer.curl_missing_rows()
    else:
        await run("upload", transfer.upload_row)
        await run("download", transfer.download_row)
    await run("cold-start", cold_start)
    await run("concurrency", latency.concurrency_row)
    if not skip_render and wanted("render"):
        started = time.perf_counter()
        render_rows = await anyio.to_thread.run_sync(render_row.render_rows, sizes)
        verdicts = ", ".join(row.verdict for row in render_rows)
        print(f"  render: {verdicts} ({time.perf_counter() - started:.1f} s)", file=sys.stderr, flush=True)
        rows += render_rows
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute (what CI runs)")
    parser.add_argument("--skip-render", action="store_true", help="leave out bench/render.py")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a row is MISS (ERROR always exits 1)")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only this row (repeatable): tool-call, long-timeline, summary, …",
    )
    args = parser.parse_args(argv)
    sizes = Sizes.for_mode(args.quick)
    started = time.perf_counter()
    load_before = load_average()
    mode = "quick" if args.quick else "full"
    print(f"nemo-mcp benchmarks ({mode} mode) on {machine()}", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="nemo-bench-") as tmp:
        root = Path(tmp)
        emu = EmulatorProcess(root / "emulator")
        emu.start()
        try:
            rows = anyio.run(_run_all, emu, root, sizes, args.skip_render, set(args.only) if args.only else None)
        finally:
            emu.stop()
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"nemo-mcp benchmarks, {mode} mode, {when}; {machine()}")
    print(format_table(rows))
    print(f"total {time.perf_counter() - started:.1f} s; load average {load_before} at start, {load_average()} at end")
    if any(r.verdict == "ERROR" for r in rows):
        return 1
    return 1 if args.strict and any(r.verdict == "MISS" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
