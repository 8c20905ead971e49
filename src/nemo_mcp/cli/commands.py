"""The human commands (``nemo-mcp credits``, ``upload``, ``say``, ``state``, ``export``, ``doctor``).

They drive the same :class:`~nemo_mcp.core.workflow.Actions` as the MCP tools, with
a progress display on stderr for people, or ``--json`` for scripts (the
result model on stdout, nothing else there).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from nemo_mcp.config import Settings
from nemo_mcp.core.connect import open_client
from nemo_mcp.core.workflow import Actions, Report
from nemo_mcp.errors import NemoError


class Display:
    """Progress for people: a bar when there is a total, a spinner with the latest message otherwise."""

    def __init__(self, quiet: bool) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

        self.console = Console(stderr=True)
        # A bar only on a terminal: piped stderr gets no redraw debris.
        self.quiet = quiet or not self.console.is_terminal
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            console=self.console,
            transient=True,
            disable=self.quiet,
        )
        self.task = self.progress.add_task("Working…", total=None)

    def report(self, message: str | None = None, progress: float | None = None, total: float | None = None) -> None:
        if self.quiet:
            return
        if message:
            self.progress.update(self.task, description=message.strip()[:70] or "Working…")
        if progress is not None:
            self.progress.update(self.task, completed=progress, total=total)

    def __enter__(self) -> Display:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)


@contextlib.asynccontextmanager
async def _actions(settings: Settings) -> AsyncIterator[Actions]:
    async with open_client(settings, platform="terminal") as client:
        yield Actions(client)


async def run(
    settings: Settings,
    as_json: bool,
    work: Callable[[Actions, Report], Awaitable[BaseModel]],
    describe: Callable[[Any], str],
) -> tuple[int, str]:
    """Run one action: (exit code, what to print). Errors are one line for stderr, exit code 1."""
    try:
        async with _actions(settings) as actions:
            with Display(quiet=as_json) as display:
                result = await work(actions, display.report)
    except NemoError as exc:
        return 1, f"nemo-mcp: {exc}"
    if as_json:
        return 0, json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False)
    return 0, describe(result)
