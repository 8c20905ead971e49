"""The ``nemo-mcp`` command: the MCP server by default, plus the emulator.

Imports stay inside the functions so that ``--help`` and ``--version`` answer
without loading the MCP SDK.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

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
    import anyio

    from nemo_mcp.errors import NemoError

    if args.transport == "streamable-http" and args.host not in ("127.0.0.1", "localhost", "::1"):
        logging.getLogger("nemo_mcp").warning(
            "Serving on %s: nemo-mcp has no authentication of its own, so anyone who can reach this "
            "port can use your NemoVideo account and read the files this user can. Prefer 127.0.0.1.",
            args.host,
        )
    refused: list[BaseException] = []
    try:
        anyio.run(_run_server, args, settings)
    except* NemoError as group:
        # Raised while starting (the local backend without ffmpeg, say), inside the SDK's task groups.
        refused.extend(_leaves(group))
    if refused:
        print(f"nemo-mcp: {refused[0]}", file=sys.stderr)
        return 2
    return 0


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


async def _run_server(args: argparse.Namespace, settings: Settings) -> None:
    """Serve until the client goes or a signal comes; then shut down in order, then exit.

    SIGTERM (how hosts stop stdio servers) and Ctrl-C end the server's lifespan: running jobs
    are cancelled, renders and downloads cleaned up, the backend stopped. On stdio the SDK's
    stdin reader sits in a thread nothing can interrupt, so once that cleanup is done the
    process leaves at once rather than wait for a line that never comes.
    """
    import os
    import signal

    import anyio

    from nemo_mcp.server import build_server

    closed = anyio.Event()
    server = build_server(settings, on_close=closed.set)
    if args.transport != "stdio":
        # uvicorn turns SIGTERM and Ctrl-C into its own orderly shutdown.
        await server.run_streamable_http_async(host=args.host, port=args.port)
        return

    async with anyio.create_task_group() as group:

        async def stop_on_signal() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for _ in signals:
                    break
            group.cancel_scope.cancel()
            with anyio.CancelScope(shield=True), anyio.move_on_after(SHUTDOWN_SECONDS):
                await closed.wait()
            logging.getLogger("nemo_mcp").info("Stopped.")
            os._exit(0)

        group.start_soon(stop_on_signal)
        await server.run_stdio_async()
        group.cancel_scope.cancel()


# The longest an orderly shutdown may take before the process leaves anyway.
SHUTDOWN_SECONDS = 10.0


def _human(args: argparse.Namespace, settings: Settings) -> int:
    import anyio

    from nemo_mcp.cli import commands

    code, out, err = anyio.run(commands.run, args, settings)
    if out:
        print(out)
    if err:
        print(err, file=sys.stderr)
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
