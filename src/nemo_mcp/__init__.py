"""nemo-mcp: an MCP server for the NemoVideo cloud video editor."""

__version__ = "0.1.0"
