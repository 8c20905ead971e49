"""Screenshots of the MCP App (``ui://nemo/preview.html``) with a real timeline and a rendered video.

    python -m tools.preview_screenshots     # writes docs/preview-light.png, docs/preview-dark.png, docs/preview.png

The same set-up as tests/test_preview_app.py: the real server with the offline backend, the test
host of tests/apphost, the system Chromium. It makes the demo's project, presses Export in the page,
waits for the MP4, pauses it on the title and photographs the view in the light and dark themes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from mcp import StdioServerParameters

from nemo_mcp.cli.demo import INSTRUCTION, make_samples
from nemo_mcp.local.probe import ffmpeg_exe
from nemo_mcp.server.preview import PREVIEW_URI

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.apphost.host import CHROMIUM_ARGS, AppHost, chromium  # noqa: E402
from tests.conftest import offline_env  # noqa: E402

WIDTH = 760


def job(host: AppHost, result: dict[str, Any]) -> dict[str, Any]:
    while result["structuredContent"].get("status") == "running":
        result = host.call_tool("check_job", {"job_id": result["structuredContent"]["job_id"]})
    if result.get("isError"):
        raise SystemExit(f"failed: {result}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the PNGs (default: docs/)")
    parser.add_argument("--scale", type=float, default=2.0, help="device pixel ratio (default 2, for sharp text)")
    parser.add_argument("--at", type=float, default=1.2, help="where to pause the video, in seconds")
    args = parser.parse_args()
    browser_path = chromium()
    if browser_path is None:
        raise SystemExit("No Chromium found: apt-get install chromium")

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        waits = {"NEMO_TOOL_WAIT_SECONDS": "1", "NEMO_RENDER_POLL_SECONDS": "0.2", "NEMO_LOG_LEVEL": "WARNING"}
        env = {**os.environ, **offline_env(tmp, **waits)}
        params = StdioServerParameters(command=sys.executable, args=["-m", "nemo_mcp"], env=env)
        with AppHost(params, timeout=60) as host, sync_playwright() as p:
            files = make_samples(tmp / "media")
            up = job(host, host.call_tool("upload_media", {"paths": [str(f) for f in files]}))
            session = up["structuredContent"]["session_id"]
            job(host, host.call_tool("send_instruction", {"instruction": INSTRUCTION, "session_id": session}))
            state = host.call_tool("get_state", {"session_id": session})

            browser = p.chromium.launch(executable_path=browser_path, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": WIDTH + 40, "height": 900}, device_scale_factor=args.scale)
            page.set_default_timeout(180_000)
            page.goto(host.url, wait_until="commit")
            page.wait_for_function("() => window.host")
            uri = host.resource_uri("get_state") or PREVIEW_URI
            resource = host.ui_resource(uri)
            context = {
                "theme": "light",
                "displayMode": "inline",
                "availableDisplayModes": ["inline", "fullscreen"],
                "containerDimensions": {"width": WIDTH, "maxHeight": 3000},
            }
            page.evaluate(
                "o => window.host.mount(o)",
                {
                    "uri": uri,
                    "tool": host.tool("get_state"),
                    "args": {"session_id": session},
                    "result": state,
                    "width": WIDTH,
                    "context": context,
                    "csp": resource["csp"] or {},
                },
            )
            page.wait_for_function("() => window.host.initialized")
            frame = page.frame(url=lambda u: "/view.html" in u)
            assert frame is not None
            frame.wait_for_function("() => !document.getElementById('export').disabled")
            frame.click("#export")
            frame.wait_for_function("() => document.querySelector('video').readyState >= 3")
            # Played up to the moment and paused there (renders of the local backend are not seekable yet).
            frame.evaluate(
                "t => new Promise(done => { const v = document.querySelector('video'); v.muted = true;"
                " const stop = () => { if (v.currentTime < t) return; v.removeEventListener('timeupdate', stop);"
                " v.pause(); v.muted = false; v.addEventListener('pause', () => done(), {once: true}); };"
                " v.addEventListener('timeupdate', stop); v.play(); })",
                args.at,
            )
            frame.wait_for_function("() => [...document.querySelectorAll('.seg img')].every(i => i.complete)")
            frame.evaluate("() => document.activeElement && document.activeElement.blur()")
            args.out.mkdir(parents=True, exist_ok=True)
            for theme in ("light", "dark"):
                page.evaluate("c => window.host.setContext(c)", {"theme": theme})
                frame.wait_for_function("t => document.documentElement.dataset.theme === t", arg=theme)
                page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
                target = args.out / f"preview-{theme}.png"
                page.locator(".frame").screenshot(path=str(target), animations="disabled")
                print(f"{target} ({target.stat().st_size // 1024} KB)")
            browser.close()
    # The README shows both themes in one picture.
    light, dark, both = (args.out / f"preview{name}.png" for name in ("-light", "-dark", ""))
    ffmpeg = ffmpeg_exe()
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-i", light, "-i", dark, "-filter_complex", "vstack=inputs=2", both], check=True
    )
    print(both)
    return 0


if __name__ == "__main__":
    sys.exit(main())
