"""Which NemoVideo answers: the cloud, or the local backend started on 127.0.0.1 for this process.

The local backend is a real HTTP server, so the client's code path is exactly
the cloud one; only the base URL differs.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Iterator

from nemo_mcp.cloud.client import NemoClient
from nemo_mcp.config import Settings


@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[Settings]:
    """Settings whose ``api_base`` answers: the local backend runs while the block does."""
    if settings.backend != "local":
        yield settings
        return
    from nemo_mcp.local.backend import LocalBackend

    with LocalBackend(settings.state_dir / "local") as backend:
        yield dataclasses.replace(settings, api_base=backend.url, backend_secret=backend.secret)


@contextlib.asynccontextmanager
async def open_client(settings: Settings, platform: str = "unknown") -> AsyncIterator[NemoClient]:
    with serving(settings) as served:
        async with NemoClient(served, platform=platform) as client:
            yield client
