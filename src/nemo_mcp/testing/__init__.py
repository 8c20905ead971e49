"""The NemoVideo cloud emulator, for tests and benchmarks only (nothing in production imports it).

It is the API server of :mod:`nemo_mcp.apiserver` with a scripted agent, a fake renderer,
NemoVideo-style tokens and credits, and fault switches, served over real HTTP so that the client
and the MCP server are tested against the wire. See :mod:`.emulator` for the state tests read and
:mod:`.faults` for the switches.
"""

from __future__ import annotations

from nemo_mcp.testing.accounts import TokenInfo
from nemo_mcp.testing.editor import ScriptedEditor
from nemo_mcp.testing.emulator import Emulator, EmulatorServer, Session, serve
from nemo_mcp.testing.faults import Faults
from nemo_mcp.testing.injector import RecordedRender, RequestRecord
from nemo_mcp.testing.renderer import FakeRenderer

__all__ = [
    "Emulator",
    "EmulatorServer",
    "FakeRenderer",
    "Faults",
    "RecordedRender",
    "RequestRecord",
    "ScriptedEditor",
    "Session",
    "TokenInfo",
    "serve",
]
