"""The human commands (``nemo-mcp credits``, ``upload``, ``say``, ``state``, ``export``, ``new-session``).

They drive the same :class:`~nemo_mcp.core.workflow.Workflow` as the MCP tools and print the
same words (each result's ``text()``), with a progress display on stderr for people, or
``--json`` for scripts (the result model on stdout, nothing else there).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable

from nemo_mcp import draft
from nemo_mcp.config import Settings
from nemo_mcp.core.connect import open_workflow
from nemo_mcp.core.workflow import Progress, Workflow, state_result
from nemo_mcp.errors import NemoError
from nemo_mcp.results import Result

Command = Callable[[Workflow, argparse.Namespace, Progress], Awaitable[Result]]


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


async def _credits(workflow: Workflow, args: argparse.Namespace, progress: Progress) -> Result:
    return await workflow.get_credits()


async def _upload(workflow: Workflow, args: argparse.Namespace, progress: Progress) -> Result:
    plan = workflow.admit_upload(args.files, args.url, None)
    sid = await workflow.resolve_session(args.session)
    return await workflow.upload_media(plan, sid, progress)


async def _say(workflow: Workflow, args: argparse.Namespace, progress: Progress) -> Result:
    text = workflow.check_instruction(args.instruction)
    sid = await workflow.resolve_session(args.session)
    return await workflow.send_instruction(text, sid, progress)


async def _state(workflow: Workflow, args: argparse.Namespace, progress: Progress) -> Result:
    state = await workflow.current_state(args.session)
    result = state_result(state, workflow.last_changes(state))
    if args.json or result.segments_shown == result.segment_count:
        return result
    # A terminal has no context window to spare: every segment, not an outline that points at a
    # resource only MCP clients can read.
    return result.model_copy(update={"summary": draft.summarize(draft.parse_draft(state.draft, state.canvas))})


async def _export(workflow: Workflow, args: argparse.Namespace, progress: Progress) -> Result:
    quality = workflow.check_quality(args.quality)
    sid = await workflow.resolve_session(args.session)
    return await workflow.export_video(sid, quality, not args.no_download, progress)


async def _new_session(workflow: Workflow, args: argparse.Namespace, progress: Progress) -> Result:
    return await workflow.new_session(args.language)


COMMANDS: dict[str, Command] = {
    "credits": _credits,
    "upload": _upload,
    "say": _say,
    "state": _state,
    "export": _export,
    "new-session": _new_session,
}


async def run(args: argparse.Namespace, settings: Settings) -> tuple[int, str, str]:
    """Run one command: (exit code, stdout, stderr). An error is one line on stderr, exit code 1."""
    if args.command == "doctor":
        from nemo_mcp.cli import doctor

        diagnosis = await doctor.diagnose(settings)
        text = diagnosis.model_dump_json(indent=2) if args.json else doctor.render(diagnosis)
        return (0 if diagnosis.healthy else 1), text, ""
    notes: list[str] = []
    try:
        async with open_workflow(settings, platform="terminal") as workflow:
            try:
                with Display(quiet=args.json) as display:
                    result = await COMMANDS[args.command](workflow, args, display.report)
            finally:
                notes = workflow.take_notices()
    except NemoError as exc:
        return 1, "", "\n".join([f"nemo-mcp: {exc}", *(f"Note: {n}" for n in notes)])
    said = "\n".join(f"Note: {n}" for n in notes)
    if args.json:
        if notes:
            result = result.model_copy(update={"notices": notes})
        return 0, json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False), said
    return 0, result.text(), said
