"""The ``nemo-mcp`` command: the MCP server by default, plus the emulator.

Imports stay inside the functions so that ``--help`` and ``--version`` answer
without loading the MCP SDK.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nemo_mcp import __version__

if TYPE_CHECKING:
    from nemo_mcp.config import Settings


def _env_help() -> str:
    from nemo_mcp.config import VARIABLES

    width = max(len(v.name) for v in VARIABLES)
    lines = ["environment variables:"]
    lines += [f"  {v.name.ljust(width)}  {v.help} (default: {v.default})" for v in VARIABLES]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nemo-mcp",
        description=(
            "MCP server for the NemoVideo video editor. With no command it serves MCP on stdio "
            "(what Claude Desktop, Claude Code, Cursor and VS Code launch)."
        ),
        epilog=_env_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"nemo-mcp {__version__}")
    parser.add_argument(
        "--transport",
        choices=("stdio", "streamable-http"),
        default="stdio",
        help="stdio (default) or streamable-http",
    )
    parser.add_argument("--host", default="127.0.0.1", help="streamable-http: address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="streamable-http: port (default 8000)")
    parser.add_argument("--backend", choices=("cloud", "local"), help="overrides NEMO_BACKEND")
    commands = parser.add_subparsers(dest="command", metavar="command")
    commands.add_parser("serve", help="serve MCP (the default)")

    def human(name: str, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help)
        sub.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
        return sub

    demo = commands.add_parser("demo", help="make sample media and turn it into an MP4 through the real server")
    demo.add_argument("--backend", choices=("local", "cloud"), default="local", dest="demo_backend")
    human("doctor", help="check configuration, state dir, API, token and credits")
    human("credits", help="show the credit balance")
    upload = human("upload", help="upload media files or links to the current project")
    upload.add_argument("files", nargs="*", help="local media files")
    upload.add_argument("--url", action="append", default=[], help="an http(s) link (repeatable)")
    upload.add_argument("--session", help="project id (default: the current project)")
    say = human("say", help="send an editing instruction")
    say.add_argument("instruction")
    say.add_argument("--session", help="project id (default: the current project)")
    state = human("state", help="show the timeline")
    state.add_argument("--session", help="project id (default: the current project)")
    export = human("export", help="render the timeline to an MP4 and download it")
    export.add_argument("--session", help="project id (default: the current project)")
    export.add_argument("--quality", default="high", choices=("high", "medium", "low"))
    export.add_argument("--no-download", action="store_true", help="only render; print the link")
    new = human("new-session", help="start a new project and make it current")
    new.add_argument("--language", help="en, zh-CN, ja, es, ...")
    emulator = commands.add_parser("emulator", help="run the NemoVideo API emulator (for tests and development)")
    emulator.add_argument("--port", type=int, default=8765, dest="emulator_port")
    emulator.add_argument("--host", default="127.0.0.1", dest="emulator_host")
    emulator.add_argument("--data-dir", type=Path, default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        import anyio

        from nemo_mcp.cli import demo as demo_module

        return anyio.run(demo_module.run, args.demo_backend)
    if args.command == "emulator":
        from nemo_mcp.testing import serve as serve_emulator

        _configure_logging("INFO")
        serve_emulator(args.emulator_port, args.data_dir, host=args.emulator_host)
        return 0
    from nemo_mcp.config import load_settings
    from nemo_mcp.errors import ConfigError

    try:
        settings = load_settings(backend=args.backend)
    except ConfigError as exc:
        print(f"nemo-mcp: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings.log_level, settings.token)
    if args.command in (None, "serve"):
        return _serve(args, settings)
    return _human(args, settings)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import signal

    from nemo_mcp.core.connect import serving
    from nemo_mcp.errors import NemoError

    opened = contextlib.ExitStack()
    signal.signal(signal.SIGTERM, lambda *_: _terminate(opened))

    if args.transport == "streamable-http" and args.host not in ("127.0.0.1", "localhost", "::1"):
        logging.getLogger("nemo_mcp").warning(
            "Serving on %s: nemo-mcp has no authentication of its own, so anyone who can reach this "
            "port can use your NemoVideo account and read the files this user can. Prefer 127.0.0.1.",
            args.host,
        )
    try:
        with opened:
            served = opened.enter_context(serving(settings))
            from nemo_mcp.server import NemoServer

            server = NemoServer(served)
            if args.transport == "stdio":
                server.mcp.run()
            else:
                server.mcp.run("streamable-http", host=args.host, port=args.port)
    except NemoError as exc:
        print(f"nemo-mcp: {exc}", file=sys.stderr)
        return 2
    return 0


def _terminate(opened: contextlib.ExitStack) -> None:
    """SIGTERM, as hosts stop stdio servers. First close what serving opened (the local backend
    stops, cancelling its renders, which kills their ffmpeg: an orphan would render on), then go at
    once, as the default handler would (a clean exit would wait for the thread blocked on stdin)."""
    import os

    try:
        opened.close()
    finally:
        os._exit(0)


def _human(args: argparse.Namespace, settings: Settings) -> int:
    import anyio

    from nemo_mcp.cli import commands

    if args.command == "doctor":
        from nemo_mcp.cli import doctor

        report = anyio.run(doctor.diagnose, settings)
        if args.json:
            print(report.model_dump_json(indent=2))
        else:
            print(doctor.render(report))
        return 0 if report.healthy else 1
    session = getattr(args, "session", None)
    jobs: dict[str, tuple[Any, Any]] = {
        "credits": (
            lambda a, r: a.get_credits(),
            lambda c: (
                f"{c.available:g} credits available ({c.frozen:g} reserved, {c.total:g} total)"
                + (f"\nRegister for more: {c.register_url}" if c.register_url else "")
            ),
        ),
        "upload": (
            lambda a, r: a.upload_media(args.files, args.url, session, report=r),
            lambda u: "\n".join(f"uploaded {i.name} ({i.kind})" for i in u.uploaded) + f"\nproject {u.session_id}",
        ),
        "say": (
            lambda a, r: a.send_instruction(args.instruction, session, report=r),
            lambda i: "\n\n".join(p for p in (i.reply, i.note, i.timeline) if p),
        ),
        "state": (lambda a, r: a.get_state(session), lambda s: s.summary),
        "export": (
            lambda a, r: a.export_video(session, args.quality, not args.no_download, report=r),
            lambda e: e.path or e.url or "",
        ),
        "new-session": (
            lambda a, r: a.new_session(args.language),
            lambda n: f"new project {n.session_id} is now current",
        ),
    }
    work, describe = jobs[args.command]
    code, text = anyio.run(commands.run, settings, args.json, work, describe)
    print(text, file=sys.stderr if code else sys.stdout)
    return code


def _configure_logging(level: str, token: str | None = None) -> None:
    from nemo_mcp.cloud.auth import RedactingFilter

    # stdout carries the MCP protocol on stdio: logs go to stderr only, tokens masked.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter((token,) if token else ()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("nemo_mcp").setLevel(level)
    # httpx logs every request at INFO; useful only when debugging.
    logging.getLogger("httpx").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
