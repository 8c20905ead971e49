"""The ``nemo-mcp`` command: the MCP server by default, plus the emulator.

Imports stay inside the functions so that ``--help`` and ``--version`` answer
without loading the MCP SDK.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nemo_mcp import __version__
from nemo_mcp.cli.logs import configure_logging

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
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="streamable-http: a host name (or name:port) clients may reach this server by, besides 127.0.0.1 "
        "and localhost (repeatable; also NEMO_ALLOWED_HOSTS)",
    )
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

        configure_logging("INFO")
        serve_emulator(args.emulator_port, args.data_dir, host=args.emulator_host)
        return 0
    from nemo_mcp.config import load_settings
    from nemo_mcp.errors import ConfigError

    try:
        settings = load_settings(backend=args.backend)
    except ConfigError as exc:
        print(f"nemo-mcp: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.token)
    if args.command in (None, "serve"):
        return _serve(args, settings)
    return _human(args, settings)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import anyio

    from nemo_mcp.errors import NemoError

    if args.transport == "streamable-http" and args.host not in LOOPBACK_NAMES:
        logging.getLogger("nemo_mcp").warning("%s", _exposure_warning(args, settings))
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


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def _host_names(args: argparse.Namespace, settings: Settings) -> list[str]:
    """The names requests may carry in ``Host``: loopback, the address bound (unless a wildcard), and the allowed."""
    names = ["127.0.0.1", "localhost", "[::1]"]
    if args.host not in ("0.0.0.0", "::", ""):
        names.append(f"[{args.host}]" if ":" in args.host else args.host)
    names += [h.lower() for h in (*settings.allowed_hosts, *args.allowed_host)]
    return list(dict.fromkeys(names))


def _transport_security(args: argparse.Namespace, settings: Settings) -> Any:
    """Host and Origin checked on every request, whatever address is bound (DNS-rebinding protection).

    The SDK turns the check off for any host but loopback; here it stays on, with the names allowed.
    A name without a port is allowed on any port.
    """
    from mcp.server.transport_security import TransportSecuritySettings

    hosts: list[str] = []
    origins: list[str] = []
    for name in _host_names(args, settings):
        with_port = name.rsplit(":", 1)[-1].isdigit() and not name.endswith("]")
        hosts += [name] if with_port else [name, f"{name}:*"]
        for scheme in ("http", "https"):
            origins += [f"{scheme}://{name}"] if with_port else [f"{scheme}://{name}", f"{scheme}://{name}:*"]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def _exposure_warning(args: argparse.Namespace, settings: Settings) -> str:
    account = "the offline backend" if settings.backend == "local" else "your NemoVideo account and credits"
    dirs = ", ".join(str(d) for d in settings.allowed_dirs) or "anywhere this user can read"
    names = ", ".join(_host_names(args, settings))
    return (
        f"Serving MCP on {args.host}:{args.port} with no authentication. Anyone who can reach this port, "
        f"and calls this server by one of the names {names} (Host header; more with --allowed-host), can use "
        f"every tool: upload any media file from {dirs} (NEMO_ALLOWED_DIRS), edit and export your projects "
        f"with {account}, write videos into {settings.output_dir}, and read your projects' timelines. "
        "Prefer --host 127.0.0.1."
    )


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
        import uvicorn

        sock = _listen(args.host, args.port)
        app = server.streamable_http_app(host=args.host, transport_security=_transport_security(args, settings))
        # Our logging, not uvicorn's: its lines (and access logs) on stderr only at NEMO_LOG_LEVEL=DEBUG.
        config = uvicorn.Config(app, host=args.host, port=args.port, log_config=None, lifespan="on")
        # The port actually bound (--port 0 picks a free one): scripts and tests read it from this line.
        host, port = sock.getsockname()[:2]
        url_host = f"[{host}]" if ":" in host else host
        logging.getLogger("nemo_mcp").info("Serving MCP at http://%s:%d/mcp", url_host, port)
        # uvicorn turns SIGTERM and Ctrl-C into its own orderly shutdown.
        await uvicorn.Server(config).serve(sockets=[sock])
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


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket, bound here so that a busy port is a clear error and port 0 a known one.

    It listens before uvicorn starts, so a client that connects as soon as the address is logged
    waits in the backlog instead of being refused.
    """
    from nemo_mcp.errors import ConfigError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"Cannot listen on {host}:{port}: {exc.strerror or exc}. "
            "Choose another --port (0 picks a free one) or --host."
        ) from None
    sock.set_inheritable(True)
    return sock


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
