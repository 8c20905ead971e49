"""The ``nemo-mcp`` command."""

from nemo_mcp.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
