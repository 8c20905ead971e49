"""The MCP surface: tools, resources and a prompt over the shared workflow."""

from nemo_mcp.server.app import INSTRUCTIONS, build_server
from nemo_mcp.server.calls import platform_name

__all__ = ["INSTRUCTIONS", "build_server", "platform_name"]
