"""The preview MCP App (``ui://nemo/preview.html``) in a real browser, against the real server.

The server runs over stdio with the offline backend, so an Export renders a real MP4 with ffmpeg.
``tests/apphost`` is the MCP Apps host: the page runs in a sandboxed iframe on an origin of its own,
under the Content-Security-Policy the spec builds from the resource's ``_meta.ui.csp``; its
``tools/call`` go through the official MCP client to the server. Every wait is bounded and
configurable (``NEMO_PREVIEW_WAIT_SECONDS``, ``NEMO_PREVIEW_RENDER_SECONDS``); a console error,
a page error or a CSP violation anywhere fails the test that caused it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from tests.apphost.host import CHROMIUM_ARGS, AppHost, chromium
from tests.conftest import offline_env

from nemo_mcp.cli.demo import INSTRUCTION, make_samples
from nemo_mcp.server.preview import (
    PREVIEW_TOOLS,
    PREVIEW_URI,
    csp_domains,
    origin,
    preview_html,
)

WAIT_MS = float(os.environ.get("NEMO_PREVIEW_WAIT_SECONDS", "20")) * 1000
RENDER_MS = float(os.environ.get("NEMO_PREVIEW_RENDER_SECONDS", "180")) * 1000
PAGE_BUDGET = 60_000

needs_browser = pytest.mark.skipif(
    chromium() is None and not os.environ.get("NEMO_REQUIRE_BROWSER"),
    reason="no Chromium found (apt-get install chromium): the MCP App's browser tests need one",
)

# Watches every frame (the iframe too) for CSP violations; injected by the browser, outside the page's CSP.
CSP_WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
  console.error("CSP violation: " + e.violatedDirective + " blocked " + e.blockedURI);
});
"""

SEGMENTS_JS = """() => [...document.querySelectorAll('.track')].map(t => ({
  cls: t.className,
  segs: [...t.querySelectorAll('.seg')].map(s => ({
    name: s.querySelector('.name').textContent, meta: s.querySelector('.meta').textContent,
    left: parseFloat(s.style.left), width: parseFloat(s.style.width), visible: s.querySelector('.name').clientWidth > 0,
  })),
}))"""


def clock(ms: float) -> str:
    """The page's time format: m:ss.t (tenths cut, not rounded)."""
    tenths = int(ms // 100)
    return f"{tenths // 600}:{(tenths % 600) // 10:02d}.{tenths % 10}"


# -- without a browser: the page and the binding ----------------------------------------------------


def test_page_is_self_contained_and_small() -> None:
    html = preview_html()
    assert len(html.encode()) < PAGE_BUDGET, len(html.encode())
    assert html.lstrip().startswith("<!DOCTYPE html>")
    # Nothing loaded from elsewhere: no external script, style, font or image, no CSS url().
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", html, re.I)
    assert not re.search(r"<link\b|@import|url\(", html, re.I)
    # CSP-clean under a policy without 'unsafe-eval', and no inline handlers or markup built from data.
    assert not re.search(r"""\son[a-z]+\s*=\s*["']""", html, re.I)
    assert not re.search(r"\beval\s*\(|new\s+Function\b|set(Timeout|Interval)\s*\(\s*[\"']", html)
    assert "innerHTML" not in html and "document.write" not in html
    assert 'style="' not in html


def test_the_page_is_bound_and_its_csp_names_the_served_origin(tmp_path: Path) -> None:
    """The four tools carry the page's URI; the resource declares where the media is served from."""
    from nemo_mcp.config import load_settings
    from nemo_mcp.server import build_server

    settings = load_settings({"NEMO_STATE_DIR": str(tmp_path), "NEMO_API_BASE": "http://127.0.0.1:9/api"})

    async def check() -> None:
        async with Client(build_server(settings), mode="legacy") as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            for name, tool in tools.items():
                assert tool.meta == ({"ui": {"resourceUri": PREVIEW_URI}} if name in PREVIEW_TOOLS else None), name
            read = await client.read_resource(PREVIEW_URI)
            (content,) = read.contents
            assert content.mime_type == "text/html;profile=mcp-app"
            assert getattr(content, "text", None) == preview_html()
            assert content.meta is not None and content.meta["ui"]["prefersBorder"] is True
            domains = content.meta["ui"]["csp"]["resourceDomains"]
            assert domains[0] == "http://127.0.0.1:9" and "https://nemovideo.com" in domains

    anyio.run(check)


def test_csp_domains_are_plain_origins() -> None:
    assert origin("http://127.0.0.1:8123/renders/r.mp4?sig=abc") == "http://127.0.0.1:8123"
    assert origin("https://Mega-API-Prod.nemovideo.ai") == "https://mega-api-prod.nemovideo.ai"
    assert csp_domains(["https://*.cdn.example.com", "http://[::1]:9000", "https://*.cdn.example.com"]) == [
        "https://*.cdn.example.com",
        "http://[::1]:9000",
    ]
    for bad in ["https://cdn.example.com/path", "http://a; script-src *", "'unsafe-eval'", "data:", "ftp://x", "*"]:
        with pytest.raises(ValueError):
            csp_domains([bad])
    with pytest.raises(ValueError):
        origin("file:///tmp/x.mp4")


# -- in the browser -----------------------------------------------------------------------------


def finish(host: AppHost, result: dict[str, Any]) -> dict[str, Any]:
    """A job tool's final result (the server hands back a job id after NEMO_TOOL_WAIT_SECONDS)."""
    while not result.get("isError") and result["structuredContent"].get("status") == "running":
        job = host.call_tool("check_job", {"job_id": result["structuredContent"]["job_id"]})
        assert not job.get("isError"), job
        result = (
            job
            if job["structuredContent"]["status"] == "running"
            else {**job, "structuredContent": job["structuredContent"]["result"]}
        )
    assert not result.get("isError"), result
    return result


def new_project(host: AppHost, folder: Path, instruction: str = INSTRUCTION) -> str:
    session = host.call_tool("new_session", {})["structuredContent"]["session_id"]
    files = make_samples(folder)
    up = finish(host, host.call_tool("upload_media", {"paths": [str(f) for f in files], "session_id": session}))
    assert not up.get("isError"), up
    finish(host, host.call_tool("send_instruction", {"instruction": instruction, "session_id": session}))
    return str(session)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppHost]:
    if chromium() is None and not os.environ.get("NEMO_REQUIRE_BROWSER"):
        pytest.skip("no Chromium found")
    tmp = tmp_path_factory.mktemp("preview")
    # Short waits, so an export returns 'running' at once and the page follows it with check_job
    # (a few times: the page asks again at most every 0.4 s). A 5 s render takes longer than this anywhere.
    waits = {"NEMO_TOOL_WAIT_SECONDS": "0.25", "NEMO_RENDER_POLL_SECONDS": "0.2", "NEMO_LOG_LEVEL": "WARNING"}
    env = {**os.environ, **offline_env(tmp, **waits)}
    params = StdioServerParameters(command=sys.executable, args=["-m", "nemo_mcp"], env=env)
    with AppHost(params, timeout=WAIT_MS / 1000) as running:
        running.tmp = tmp  # type: ignore[attr-defined]
        yield running


@pytest.fixture(scope="module")
def project(host: AppHost) -> str:
    return new_project(host, host.tmp / "media")  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Viewer:
    """The host page in a browser tab, with what went wrong in any of its frames."""

    def __init__(self, page: Any, host: AppHost) -> None:
        self.page = page
        self.host = host
        self.problems: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.add_init_script(CSP_WATCH)
        page.set_default_timeout(WAIT_MS)
        page.goto(host.url, wait_until="commit")
        page.wait_for_function("() => window.host")

    def mount(
        self,
        tool: str,
        args: dict[str, Any],
        result: dict[str, Any] | None,
        *,
        width: int = 720,
        context: dict[str, Any] | None = None,
    ) -> Any:
        """Render the tool's UI as a host does: the URI from tools/list, the CSP from resources/read."""
        uri = self.host.resource_uri(tool) or PREVIEW_URI  # the stand-in until the server binds it
        resource = self.host.ui_resource(uri)
        ctx = {
            "theme": "light",
            "displayMode": "inline",
            "availableDisplayModes": ["inline", "fullscreen"],
            "containerDimensions": {"width": width, "maxHeight": 3000},
            "platform": "web",
            "locale": "en-US",
            **(context or {}),
        }
        options = {"uri": uri, "tool": self.host.tool(tool), "args": args, "result": result, "width": width}
        self.page.evaluate("o => window.host.mount(o)", {**options, "context": ctx, "csp": resource["csp"] or {}})
        self.page.wait_for_function("() => window.host.initialized")
        frame = self.page.frame(url=re.compile(r"/view\.html"))
        assert frame is not None
        return frame

    def wait(self, frame: Any, expression: str, arg: Any = None, timeout: float | None = None) -> None:
        """``frame.wait_for_function``, failing with what went wrong in the page rather than a bare time-out."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            frame.wait_for_function(expression, arg=arg, timeout=timeout or WAIT_MS)
        except PlaywrightTimeout:
            status = frame.evaluate(
                "() => [document.getElementById('status').textContent, document.getElementById('error').textContent]"
            )
            raise AssertionError(
                f"timed out waiting for {expression!r}; page said {status}; problems: {self.problems}"
            ) from None

    def log(self) -> list[dict[str, Any]]:
        return list(self.page.evaluate("window.host.log"))

    def assert_clean(self) -> None:
        assert self.problems == []


@pytest.fixture
def viewer(browser: Any, host: AppHost) -> Iterator[Viewer]:
    context = browser.new_context(viewport={"width": 900, "height": 1000})
    try:
        yield Viewer(context.new_page(), host)
    finally:
        context.close()


def playhead(frame: Any) -> float:
    """Where the playhead is, in % of the timeline."""
    return float(frame.evaluate("parseFloat(document.getElementById('playhead').style.left)"))


def colours(frame: Any) -> dict[str, str]:
    return dict(
        frame.evaluate(
            """() => ({
              bg: getComputedStyle(document.body).backgroundColor,
              fg: getComputedStyle(document.body).color,
              lane: getComputedStyle(document.querySelector('.seg.video')).borderTopColor,
              theme: document.documentElement.dataset.theme,
            })"""
        )
    )


@needs_browser
def test_lanes_show_what_get_state_returned(viewer: Viewer, host: AppHost, project: str) -> None:
    state = host.call_tool("get_state", {"session_id": project})
    frame = viewer.mount("get_state", {"session_id": project}, state)
    viewer.wait(frame, "() => document.querySelectorAll('.seg').length > 0")
    sc = state["structuredContent"]
    duration = sc["duration_ms"]

    lanes = frame.evaluate(SEGMENTS_JS)
    assert len(lanes) == len(sc["tracks"]) == 3
    for lane, track in zip(lanes, sc["tracks"], strict=True):
        assert f"lane-{track['type']}" in lane["cls"]
        expected = [s["text"] if track["type"] == "text" else s["name"] for s in track["segments"]]
        assert [s["name"] for s in lane["segs"]] == expected
        for shown, seg in zip(lane["segs"], track["segments"], strict=True):
            assert shown["left"] == pytest.approx(100 * seg["start_ms"] / duration, abs=0.01)
            assert shown["width"] == pytest.approx(100 * seg["duration_ms"] / duration, abs=0.01)
            assert shown["visible"]
    (music,) = next(lane for lane in lanes if "lane-audio" in lane["cls"])["segs"]
    assert music["meta"].startswith("30%")
    assert frame.inner_text("#title") == "Hello from nemo-mcp"
    assert frame.inner_text("#clock") == f"0:00.0 / {clock(duration)}"
    # The demo's photos are landscape, so the editor chose a landscape canvas.
    aspect = {(1920, 1080): "16:9", (1080, 1920): "9:16", (1080, 1080): "1:1"}[(sc["width"], sc["height"])]
    assert f"{aspect} · {sc['width']}×{sc['height']}" in frame.inner_text("#chips")

    # Thumbnails and the storyboard frame load from the backend's origin: the declared CSP lets them in.
    images = sum(1 for t in sc["tracks"] if t["type"] == "video" for s in t["segments"] if s["kind"] == "image")
    viewer.wait(
        frame,
        "n => { const i = [...document.querySelectorAll('.seg.video img')];"
        " return i.length === n && i.every(x => x.complete && x.naturalWidth > 0); }",
        arg=images,
    )
    viewer.wait(frame, "() => { const f = document.getElementById('frame'); return !f.hidden && f.naturalWidth > 0; }")
    assert frame.inner_text("#overlay") == "Hello from nemo-mcp"  # the title is on screen at 0:00

    # The protocol, in order: the view initializes; only then does the host speak.
    log = viewer.log()
    first = log[0]
    assert first["dir"] == "in" and first["msg"]["method"] == "ui/initialize"
    assert first["msg"]["params"]["protocolVersion"] == "2026-01-26" and first["msg"]["params"]["appInfo"]["name"]
    initialized = next(i for i, e in enumerate(log) if e["msg"].get("method") == "ui/notifications/initialized")
    sent = [e["msg"].get("method") for e in log if e["dir"] == "out"]
    assert sent[:3] == [None, "ui/notifications/tool-input", "ui/notifications/tool-result"]  # None: the answer
    assert all(i > initialized for i, e in enumerate(log) if e["dir"] == "out" and e["msg"].get("method"))
    sizes = viewer.page.evaluate("window.host.sizes")
    assert sizes and all(s["width"] > 0 and s["height"] > 0 for s in sizes)
    height = viewer.page.evaluate("window.host.iframe.getBoundingClientRect().height")
    assert height == pytest.approx(sizes[-1]["height"], abs=1)
    assert frame.evaluate("document.documentElement.scrollHeight") <= height + 1  # no scrollbar inside
    viewer.assert_clean()


@needs_browser
@pytest.mark.slow
def test_export_moves_the_bar_and_plays_the_video(viewer: Viewer, host: AppHost, project: str) -> None:
    state = host.call_tool("get_state", {"session_id": project})
    frame = viewer.mount("get_state", {"session_id": project}, state)
    viewer.wait(frame, "() => !document.getElementById('export').disabled")
    frame.evaluate(
        """() => { window.__progress = [];
          const bar = document.getElementById('bar');
          new MutationObserver(() => { const v = Number(bar.getAttribute('aria-valuenow'));
            if (!bar.hidden && window.__progress.at(-1) !== v) window.__progress.push(v); })
            .observe(bar, {attributes: true}); }"""
    )
    before = len(host.calls_from_view())

    # By keyboard: Tab reaches the button, its focus is visible, Enter presses it.
    for _ in range(12):
        viewer.page.keyboard.press("Tab")
        if frame.evaluate("document.activeElement && document.activeElement.id") == "export":
            break
    assert frame.evaluate("document.activeElement.id") == "export"
    assert frame.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    viewer.page.keyboard.press("Enter")

    viewer.wait(frame, "() => document.querySelector('video').readyState >= 2", timeout=RENDER_MS)
    progress = frame.evaluate("window.__progress")
    assert progress == sorted(progress) and progress[-1] == 100, progress
    assert len([p for p in progress if 0 < p < 100]) >= 2, progress  # it moved while rendering
    calls = host.calls_from_view()[before:]
    assert calls[0] == "export_video" and "check_job" in calls, calls
    assert frame.inner_text("#status") == "Exported"

    # The player shows the MP4 of this timeline and plays it; the playhead follows it.
    duration_s = state["structuredContent"]["duration_ms"] / 1000
    video = frame.evaluate("() => { const v = document.querySelector('video'); return {d: v.duration, src: v.src}; }")
    assert video["d"] == pytest.approx(duration_s, abs=0.1)
    assert re.match(r"^http://127\.0\.0\.1:\d+/renders/", video["src"])
    play = (
        "() => { const v = document.querySelector('video'); v.muted = true; return v.play().then(_ => v.currentTime) }"
    )
    start = frame.evaluate(play)
    viewer.wait(frame, "t => document.querySelector('video').currentTime > t + 1", arg=start)
    paused = frame.evaluate(
        "() => new Promise(done => { const v = document.querySelector('video');"
        " v.addEventListener('pause', () => requestAnimationFrame(() => done(v.currentTime)), {once: true});"
        " v.pause(); })"
    )
    assert paused > 1
    assert playhead(frame) == pytest.approx(100 * paused / duration_s, abs=0.5)
    assert frame.inner_text("#clock").startswith(clock(paused * 1000))
    # Pressing a segment moves the player to its start (the backend serves byte ranges, so Chrome
    # can seek), and the playhead agrees.
    target = int(frame.get_attribute(".seg.text", "data-start") or "0") / 1000
    assert abs(target - paused) > 0.5  # a real move
    frame.click(".seg.text")
    viewer.wait(frame, "t => Math.abs(document.querySelector('video').currentTime - t) < 0.05", arg=target)
    viewer.wait(frame, "() => !document.querySelector('video').seeking")
    at = frame.evaluate("document.querySelector('video').currentTime")
    assert playhead(frame) == pytest.approx(100 * at / duration_s, abs=0.5)
    frame.click("#open")  # asks the host to open the video (ui/open-link)
    viewer.page.wait_for_function("() => window.host.links.length === 1")
    assert viewer.page.evaluate("window.host.links") == [video["src"]]
    saved = Path(frame.get_attribute("#savedPath", "title") or "")
    assert saved.is_file() and saved.stat().st_size > 0
    assert any(
        "exported the video" in c["content"][0]["text"] for c in viewer.page.evaluate("window.host.modelContext")
    )
    viewer.assert_clean()


@needs_browser
@pytest.mark.slow
def test_an_export_started_by_the_model_is_followed_to_the_player(viewer: Viewer, host: AppHost) -> None:
    session = new_project(host, host.tmp / "media-square", "make a slideshow, square")  # type: ignore[attr-defined]
    started = host.call_tool("export_video", {"session_id": session})
    assert started["structuredContent"]["status"] == "running"  # NEMO_TOOL_WAIT_SECONDS: a job id comes back
    before = len(host.calls_from_view())
    frame = viewer.mount("export_video", {"session_id": session}, started)
    viewer.wait(frame, "() => document.querySelector('video').readyState >= 2", timeout=RENDER_MS)
    calls = host.calls_from_view()[before:]
    assert "export_video" not in calls and "check_job" in calls and "get_state" in calls, calls
    state = host.call_tool("get_state", {"session_id": session})["structuredContent"]
    assert frame.evaluate("document.querySelector('video').duration") == pytest.approx(
        state["duration_ms"] / 1000, abs=0.1
    )
    assert frame.inner_text("#chips").startswith("1:1 · 1080×1080")
    viewer.assert_clean()


@needs_browser
def test_a_truncated_timeline_says_how_much_is_left_out(viewer: Viewer, host: AppHost, project: str) -> None:
    state = host.call_tool("get_state", {"session_id": project})
    sc = state["structuredContent"]
    video = sc["tracks"][0]
    cut = {
        **sc,
        "truncated": True,
        "track_count": len(sc["tracks"]) + 2,
        "tracks": [{**video, "segments": video["segments"][:1], "segment_count": 40}, *sc["tracks"][1:]],
    }
    frame = viewer.mount("get_state", {"session_id": project}, {**state, "structuredContent": cut})
    viewer.wait(frame, "() => document.querySelector('.more')")
    assert frame.inner_text(".lane-video .more") == "… 39 more"
    assert frame.locator(".lane-video .seg").count() == 1
    assert frame.inner_text("#foot") == "… 2 more tracks not shown."
    viewer.assert_clean()


@needs_browser
def test_a_later_edit_redraws_the_timeline(viewer: Viewer, host: AppHost) -> None:
    session = new_project(host, host.tmp / "media-edit")  # type: ignore[attr-defined]
    state = host.call_tool("get_state", {"session_id": session})
    frame = viewer.mount("get_state", {"session_id": session}, state)
    viewer.wait(frame, "() => document.querySelectorAll('.seg').length > 0")
    assert frame.inner_text("#clock").endswith(clock(state["structuredContent"]["duration_ms"]))

    edit = finish(
        host, host.call_tool("send_instruction", {"instruction": "make each image 4 seconds", "session_id": session})
    )
    assert "tracks" not in edit["structuredContent"]  # the page has to read the timeline itself
    after = host.call_tool("get_state", {"session_id": session})["structuredContent"]
    assert after["duration_ms"] != state["structuredContent"]["duration_ms"]
    before = len(host.calls_from_view())
    viewer.page.evaluate("r => window.host.toolResult(r)", edit)
    viewer.wait(frame, "t => document.getElementById('clock').textContent.endsWith(t)", arg=clock(after["duration_ms"]))
    assert host.calls_from_view()[before:] == ["get_state"]
    widths = [s["width"] for lane in frame.evaluate(SEGMENTS_JS) if "lane-video" in lane["cls"] for s in lane["segs"]]
    expected = [
        100 * s["duration_ms"] / after["duration_ms"]
        for t in after["tracks"]
        if t["type"] == "video"
        for s in t["segments"]
    ]
    assert widths == pytest.approx(expected, abs=0.01)
    assert frame.inner_text("#note").startswith("Latest edit:")
    viewer.assert_clean()


@needs_browser
def test_theme_follows_the_host(viewer: Viewer, host: AppHost, project: str) -> None:
    state = host.call_tool("get_state", {"session_id": project})
    styles = {
        "variables": {
            "--color-background-primary": "light-dark(#fbfaf7, #141413)",
            "--color-text-primary": "light-dark(#141413, #f0eee6)",
        }
    }
    frame = viewer.mount("get_state", {"session_id": project}, state, context={"theme": "light", "styles": styles})
    viewer.wait(frame, "() => document.querySelector('.seg.video')")
    light = colours(frame)
    assert light["bg"] == "rgb(251, 250, 247)" and light["fg"] == "rgb(20, 20, 19)" and light["theme"] == "light"

    viewer.page.evaluate("c => window.host.setContext(c)", {"theme": "dark"})
    viewer.wait(frame, "() => document.documentElement.dataset.theme === 'dark'")
    dark = colours(frame)
    assert dark["bg"] == "rgb(20, 20, 19)" and dark["fg"] == "rgb(240, 238, 230)"
    assert dark["lane"] != light["lane"]  # the page's own colours follow too

    # A host that stops sending variables: the page's own fallbacks, still per theme.
    viewer.page.evaluate("c => window.host.setContext(c)", {"styles": {"variables": {}}})
    viewer.wait(frame, "() => getComputedStyle(document.body).backgroundColor === 'rgb(26, 25, 23)'")
    viewer.page.evaluate("c => window.host.setContext(c)", {"theme": "light"})
    viewer.wait(frame, "() => getComputedStyle(document.body).backgroundColor === 'rgb(255, 255, 255)'")
    assert colours(frame)["fg"] != dark["fg"]
    viewer.assert_clean()


@needs_browser
def test_full_screen_is_asked_of_the_host(viewer: Viewer, host: AppHost, project: str) -> None:
    state = host.call_tool("get_state", {"session_id": project})
    frame = viewer.mount("get_state", {"session_id": project}, state)
    viewer.wait(frame, "() => document.querySelectorAll('.seg').length > 0")
    inline = frame.evaluate("document.getElementById('stage').getBoundingClientRect().height")
    frame.click("#fullscreen")
    viewer.wait(frame, "() => document.documentElement.dataset.display === 'fullscreen'")
    asked = [e["msg"] for e in viewer.log() if e["msg"].get("method") == "ui/request-display-mode"]
    assert [m["params"] for m in asked] == [{"mode": "fullscreen"}]
    assert frame.evaluate("document.getElementById('stage').getBoundingClientRect().height") > inline
    assert frame.get_attribute("#fullscreen", "aria-label") == "Leave full screen"
    frame.click("#fullscreen")
    viewer.wait(frame, "() => document.documentElement.dataset.display === 'inline'")

    # A host without full screen: no button.
    frame = viewer.mount("get_state", {"session_id": project}, state, context={"availableDisplayModes": ["inline"]})
    viewer.wait(frame, "() => document.querySelectorAll('.seg').length > 0")
    assert frame.is_hidden("#fullscreen")
    viewer.assert_clean()


@needs_browser
def test_narrow_view_is_readable_and_keyboard_usable(viewer: Viewer, host: AppHost, project: str) -> None:
    state = host.call_tool("get_state", {"session_id": project})
    frame = viewer.mount("get_state", {"session_id": project}, state, width=360)
    viewer.wait(frame, "() => document.querySelectorAll('.seg').length > 0")
    assert frame.evaluate("innerWidth") == 360
    assert frame.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert all(s["visible"] for lane in frame.evaluate(SEGMENTS_JS) for s in lane["segs"])
    buttons = frame.evaluate(
        "[...document.querySelectorAll('button:not([hidden])')].map(b => b.getBoundingClientRect().right)"
    )
    assert max(buttons) <= 360

    # The playhead: Tab to the ruler, then Home/End/arrows; a segment button moves it to its start.
    duration = state["structuredContent"]["duration_ms"]
    frame.focus("#ruler")
    assert frame.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    viewer.page.keyboard.press("End")
    assert frame.inner_text("#clock") == f"{clock(duration)} / {clock(duration)}"
    viewer.page.keyboard.press("ArrowLeft")
    assert frame.inner_text("#clock") != f"{clock(duration)} / {clock(duration)}"
    viewer.page.keyboard.press("Home")
    assert frame.inner_text("#clock").startswith("0:00.0")
    second = state["structuredContent"]["tracks"][0]["segments"][1]
    frame.focus(".seg.video >> nth=1")
    viewer.page.keyboard.press("Enter")
    assert frame.inner_text("#clock").startswith(clock(second["start_ms"]))
    assert frame.get_attribute("#ruler", "aria-valuetext") == clock(second["start_ms"])
    viewer.assert_clean()


@needs_browser
def test_errors_are_shown_in_words(viewer: Viewer, host: AppHost) -> None:
    failed = host.call_tool("check_job", {"job_id": "exp-0-00000000"})
    assert failed.get("isError")
    frame = viewer.mount("check_job", {"job_id": "exp-0-00000000"}, failed)
    frame.wait_for_selector("#error:not([hidden])")
    assert "Unknown job id" in frame.inner_text("#error")
    assert frame.get_attribute("#error", "role") == "alert"

    # A host that refuses the page's own call: said in words too.
    viewer.page.evaluate("window.host.refuse['tools/call'] = 'Denied by the user'")
    frame.click("#refresh")
    viewer.wait(frame, "() => document.getElementById('error').textContent.includes('Denied by the user')")
    viewer.assert_clean()


@needs_browser
def test_host_enforces_the_declared_csp(viewer: Viewer, host: AppHost, project: str) -> None:
    """The harness itself: an origin the resource did not declare is blocked, and that is reported."""
    state = host.call_tool("get_state", {"session_id": project})
    frame = viewer.mount("get_state", {"session_id": project}, state)
    served = host.served[host.resource_uri("get_state") or PREVIEW_URI]
    declared = served["csp"]["resourceDomains"]
    assert declared and host.host_origin not in declared
    frame.evaluate(
        "u => { const i = new Image(); i.src = u; document.body.append(i); }", f"{host.host_origin}/host.html"
    )
    viewer.wait(frame, "() => window.__csp.length > 0")
    assert frame.evaluate("window.__csp")[0].startswith("img-src")
    assert any("CSP violation" in p for p in viewer.problems)
