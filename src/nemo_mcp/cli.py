"""The ``nemo-mcp`` command: the MCP server by default, plus the emulator.

Imports stay inside the functions so that ``--help`` and ``--version`` answer
without loading the MCP SDK.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from nemo_mcp import __version__


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
    parser.add_argument(
        "--host", default="127.0.0.1", help="streamable-http: address to bind (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=8000, help="streamable-http: port (default 8000)")
    parser.add_argument("--backend", choices=("cloud", "local"), help="overrides NEMO_BACKEND")
    commands = parser.add_subparsers(dest="command", metavar="command")
    commands.add_parser("serve", help="serve MCP (the default)")
    emulator = commands.add_parser(
        "emulator", help="run the NemoVideo API emulator (for tests and development)"
    )
    emulator.add_argument("--port", type=int, default=8765, dest="emulator_port")
    emulator.add_argument("--host", default="127.0.0.1", dest="emulator_host")
    emulator.add_argument("--data-dir", type=Path, default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "emulator":
        from nemo_mcp.emulator import serve as serve_emulator

        _configure_logging("INFO")
        serve_emulator(args.emulator_port, args.data_dir, host=args.emulator_host)
        return 0
    return _serve(args)


def _serve(args: argparse.Namespace) -> int:
    from nemo_mcp.config import load_settings
    from nemo_mcp.errors import ConfigError

    try:
        settings = load_settings(backend=args.backend)
    except ConfigError as exc:
        print(f"nemo-mcp: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings.log_level, settings.token)
    from nemo_mcp.server import NemoServer

    server = NemoServer(settings)
    if args.transport == "stdio":
        server.mcp.run()
    else:
        server.mcp.run("streamable-http", host=args.host, port=args.port)
    return 0


def _configure_logging(level: str, token: str | None = None) -> None:
    from nemo_mcp.auth import RedactingFilter

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
