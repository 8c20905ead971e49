"""Command line entry point (placeholder until the server lands)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from nemo_mcp import __version__

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--version"]:
        print(f"nemo-mcp {__version__}")
        return 0
    print("usage: nemo-mcp [--version]")
    return 0
