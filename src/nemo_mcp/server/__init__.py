"""The MCP surface: tools, resources and a prompt over the shared workflow."""

from nemo_mcp.server.app import NemoServer, build_server, platform_name

__all__ = ["NemoServer", "build_server", "platform_name"]
