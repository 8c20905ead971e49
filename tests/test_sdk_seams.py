"""Every workaround in ``server/_sdk.py``, checked against the SDK installed.

Two kinds of test: what the workaround gives clients (through a real MCP client), and that the
SDK still lacks it. When one of the second kind fails, the SDK does the thing itself now:
delete the piece of ``_sdk.py`` it names, and this test with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import mcp
import mcp_types as types
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError

from nemo_mcp.server import build_server
from nemo_mcp.server._sdk import SDK_VERSION
from nemo_mcp.testing import Emulator

# Subscriptions, log levels and roots are what handshake-era hosts use; the SDK marks them deprecated.
pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")]


def text_of(result: Any) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def test_written_against_the_installed_sdk() -> None:
    from importlib.metadata import version

    installed = version("mcp")
    assert installed.split(".")[:2] == SDK_VERSION.split(".")[:2], (
        f"mcp {installed} is installed; server/_sdk.py was written for {SDK_VERSION}: re-check each piece"
    )
    assert mcp.Client is Client


async def test_the_sdk_still_lacks_legacy_subscriptions_and_log_levels() -> None:
    bare = MCPServer("bare")

    @bare.resource("test://thing")
    def thing() -> str:
        return "x"

    async with Client(bare, mode="legacy") as client:
        caps = client.server_capabilities
        assert caps.logging is None, "MCPServer serves logging/setLevel now: drop it from LegacyChannels"
        assert not (caps.resources and caps.resources.subscribe), "MCPServer serves resources/subscribe now"
        with pytest.raises(MCPError, match=r"[Mm]ethod not found"):
            await client.subscribe_resource("test://thing")
        with pytest.raises(MCPError, match=r"[Mm]ethod not found"):
            await client.set_logging_level("warning")


async def test_legacy_channels_are_advertised_and_kept_per_connection(
    settings_for: Any, media: dict[str, Path], emulator: Emulator
) -> None:
    server = build_server(settings_for())
    heard: dict[str, list[str]] = {"quiet": [], "chatty": []}

    def collector(name: str) -> Any:
        async def on_log(params: types.LoggingMessageNotificationParams) -> None:
            heard[name].append(str(params.data))

        return on_log

    async with (
        Client(server, mode="legacy", logging_callback=collector("quiet")) as quiet,
        Client(server, mode="legacy", logging_callback=collector("chatty")) as chatty,
    ):
        caps = quiet.server_capabilities
        assert caps.logging is not None and caps.resources is not None
        assert caps.resources.subscribe and caps.resources.list_changed
        await quiet.set_logging_level("warning")  # one client's level is that client's alone
        for client in (quiet, chatty):
            up = await client.call_tool("upload_media", {"paths": [str(media["city.png"])]})
            assert not up.is_error, text_of(up)
    assert heard["quiet"] == []
    assert any("Uploading" in line for line in heard["chatty"])


async def test_unsubscribed_uris_stay_quiet(settings_for: Any, media: dict[str, Path], emulator: Emulator) -> None:
    updated: list[str] = []

    async def on_message(message: Any) -> None:
        root = getattr(message, "root", message)
        if isinstance(root, types.ResourceUpdatedNotification):
            updated.append(str(root.params.uri))

    async with Client(build_server(settings_for()), mode="legacy", message_handler=on_message) as client:
        up = await client.call_tool("upload_media", {"paths": [str(media["city.png"])]})
        sid = up.structured_content["session_id"]
        uri = f"nemo://sessions/{sid}/timeline"
        await client.subscribe_resource(uri)
        await client.call_tool("send_instruction", {"instruction": "make a slideshow"})
        with anyio.fail_after(5):
            while uri not in updated:
                await anyio.sleep(0.01)
        await client.unsubscribe_resource(uri)
        heard = len(updated)
        await client.call_tool("send_instruction", {"instruction": "add the title 'Again'"})
        await client.call_tool("get_state", {})  # a round trip after the edit's notification would be out
    assert len(updated) == heard
    assert f"nemo://sessions/{sid}/draft" not in updated  # never subscribed


async def test_argument_errors_read_as_one_sentence(settings_for: Any, emulator: Emulator) -> None:
    async with Client(build_server(settings_for()), mode="legacy") as client:
        bad = await client.call_tool("upload_media", {"paths": 5, "session_id": ["x"]})
    assert bad.is_error
    assert text_of(bad).startswith("Invalid arguments for upload_media: `paths`: input should be a valid list (got 5)")
    assert "pydantic" not in text_of(bad) and "\n" not in text_of(bad)


async def test_modern_clients_are_offered_the_registration_page_once(
    settings_for: Any, media: dict[str, Path], emulator: Emulator
) -> None:
    offered: list[str] = []

    async def elicit(context: Any, params: Any) -> types.ElicitResult:
        offered.append(params.url)
        return types.ElicitResult(action="accept")

    async with Client(build_server(settings_for()), mode="2026-07-28", elicitation_callback=elicit) as client:
        await client.call_tool("upload_media", {"paths": [str(media["city.png"])]})
        user = next(iter(emulator.sessions.values())).user_id
        emulator.set_credits(user, 0)
        turns = len([r for r in emulator.requests if r.path == "/run_sse"])
        broke = await client.call_tool("send_instruction", {"instruction": "make a slideshow"})
    link = f"https://nemovideo.com/register?bind={user}"
    assert offered == [link]
    assert broke.is_error and link in text_of(broke)
    # The retry that carried the answer ran nothing: one instruction was sent, not two.
    assert len([r for r in emulator.requests if r.path == "/run_sse"]) == turns + 1


@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
async def test_roots_are_asked_in_either_era(
    settings_for: Any, media: dict[str, Path], emulator: Emulator, tmp_path: Path, era: str
) -> None:
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(media["city.png"].read_bytes())

    async def roots(context: Any) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri=media["city.png"].parent.as_uri())])

    async with Client(build_server(settings_for()), mode=era, list_roots_callback=roots) as client:
        inside = await client.call_tool("upload_media", {"paths": [str(media["city.png"])]})
        refused = await client.call_tool("upload_media", {"paths": [str(outside)]})
    assert not inside.is_error, text_of(inside)
    assert refused.is_error and "outside the directories" in text_of(refused)
