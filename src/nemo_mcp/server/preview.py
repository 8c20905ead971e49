"""The MCP App of nemo-mcp: one page that shows a project's timeline, exports it and plays the MP4.

MCP Apps (extension ``io.modelcontextprotocol/ui``, spec 2026-01-26): a host that supports it
renders ``PREVIEW_URI`` in a sandboxed iframe beside the result of every tool whose
``_meta.ui.resourceUri`` names it, and hands the page that result. The page then talks to the
host over ``postMessage`` (JSON-RPC) and may call our tools through it: ``get_state`` to redraw
after an edit, ``export_video`` for its Export button, ``check_job`` to follow a render.

Hosts without Apps ignore the ``_meta`` and the resource: they keep getting the same text and
structured content as before, so nothing here changes what a model sees.

The page loads media only from the origins its resource declares (the host turns them into the
iframe's Content-Security-Policy): the loopback origin of the local backend, which serves renders
and uploads under signed URLs, or the cloud's API and CDN origins.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from mcp.server.apps import APP_MIME_TYPE, Apps, ResourceCsp
from mcp.server.mcpserver.resources import TextResource

PREVIEW_URI = "ui://nemo/preview.html"
"""The ``ui://`` resource of the preview page."""

PREVIEW_TOOLS = ("get_state", "send_instruction", "export_video", "check_job")
"""The tools whose results the page renders (``check_job`` is also called by the page itself)."""

# A CSP source the spec's resourceDomains allows: an http(s) origin, optionally a wildcard subdomain.
_ORIGIN = re.compile(r"^https?://(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


def preview_tool_meta() -> dict[str, Any]:
    """The ``meta=`` for ``mcp.tool(...)`` of each tool in :data:`PREVIEW_TOOLS` (a fresh dict each call)."""
    return {"ui": {"resourceUri": PREVIEW_URI}}


@functools.cache
def preview_html() -> str:
    """The page, as shipped in the package (``preview.html`` beside this module)."""
    return resources.files(__package__ or "nemo_mcp.server").joinpath("preview.html").read_text(encoding="utf-8")


def origin(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL: what a CSP source needs from, e.g., ``NEMO_API_BASE``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        raise ValueError(f"Not an http(s) URL without credentials: {url!r}")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def csp_domains(domains: Iterable[str]) -> list[str]:
    """The origins, checked and without duplicates, in order. Anything that is not a plain origin
    (a path, a quote, a ``;``) is refused: it would end up inside a Content-Security-Policy."""
    out: list[str] = []
    for domain in domains:
        value = domain.strip().rstrip("/")
        if not _ORIGIN.match(value):
            raise ValueError(f"Not an origin for the preview's CSP: {domain!r} (expected e.g. https://cdn.example.com)")
        if value not in out:
            out.append(value)
    return out


class Preview:
    """The page as the MCP Apps resource, with a CSP that follows where the media is served from.

    The offline backend's port is known only once the server's lifespan has started it, and a
    cloud render's CDN only once an export answers, so the resource's ``_meta.ui.csp`` (which
    hosts read with the resource) is kept current here instead of fixed at construction.
    """

    def __init__(self, origins: Iterable[str] = ()) -> None:
        self.resource = TextResource(
            uri=PREVIEW_URI,
            name="preview",
            title="NemoVideo preview",
            description="The project's timeline, an Export button with progress, and a player for the exported MP4.",
            mime_type=APP_MIME_TYPE,
            text=preview_html(),
        )
        self.apps = Apps()
        self.apps.add_resource(self.resource)
        self._domains: list[str] = []
        self.allow(*origins)

    @property
    def domains(self) -> list[str]:
        return list(self._domains)

    def allow(self, *sources: str) -> None:
        """Let the page load media from these origins (or the origins of these URLs)."""
        for source in sources:
            try:
                found = csp_domains([source if _ORIGIN.match(source.rstrip("/")) else origin(source)])
            except ValueError:
                continue  # not an http(s) URL: nothing the page could load anyway
            if found[0] not in self._domains:
                self._domains.append(found[0])
        csp = ResourceCsp(resource_domains=self._domains)
        self.resource.meta = {"ui": {"csp": csp.model_dump(by_alias=True, exclude_none=True), "prefersBorder": True}}


__all__ = [
    "PREVIEW_TOOLS",
    "PREVIEW_URI",
    "Preview",
    "csp_domains",
    "origin",
    "preview_html",
    "preview_tool_meta",
]
