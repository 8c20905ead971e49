"""The human CLI, run as a real process against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import fast_env

from nemo_mcp.testing import Emulator


@pytest.fixture
def cli(emulator: Emulator, tmp_path: Path) -> Any:
    env = {**os.environ, **fast_env(emulator.url, tmp_path)}

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "nemo_mcp", *args], env=env, capture_output=True, text=True, timeout=60
        )
        if check:
            assert done.returncode == 0, done.stderr
        return done

    return run


def test_help_and_version_do_not_import_the_server() -> None:
    code = "import sys, nemo_mcp.cli as c; c.build_parser().format_help(); print('mcp' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
    helped = subprocess.run([sys.executable, "-m", "nemo_mcp", "--help"], capture_output=True, text=True)
    assert "streamable-http" in helped.stdout and "NEMO_TOOL_WAIT_SECONDS" in helped.stdout
    from nemo_mcp.config import VARIABLES

    assert all(v.name in helped.stdout for v in VARIABLES)


def test_workflow_from_the_command_line(cli: Any, media: dict[str, Path], tmp_path: Path) -> None:
    credits = json.loads(cli("credits", "--json").stdout)
    assert credits["available"] == 100 and credits["account"] == "anonymous"
    uploaded = json.loads(cli("upload", str(media["city.png"]), str(media["park.png"]), "--json").stdout)
    assert [u["kind"] for u in uploaded["uploaded"]] == ["image", "image"]
    said = cli("say", "make a slideshow titled 'Shell'")
    assert '"Shell"' in said.stdout
    state = cli("state")
    assert state.stdout.startswith("Timeline:")
    exported = json.loads(cli("export", "--json").stdout)
    assert Path(exported["path"]).is_file() and Path(exported["path"]).parent == tmp_path / "out"


def test_errors_are_one_line_and_a_nonzero_exit(cli: Any, tmp_path: Path) -> None:
    done = cli("upload", str(tmp_path / "missing.png"), check=False)
    assert done.returncode == 1 and done.stderr.startswith("nemo-mcp: No file at") and "Traceback" not in done.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "nemo_mcp", "credits"],
        env={**os.environ, "NEMO_RENDER_POLL_SECONDS": "soon"},
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "NEMO_RENDER_POLL_SECONDS" in bad.stderr


def test_doctor_reports_each_check(cli: Any, emulator: Emulator) -> None:
    report = json.loads(cli("doctor", "--json").stdout)
    names = {c["name"]: c["verdict"] for c in report["checks"]}
    assert names["token"] == "ok" and names["credits"] == "ok" and names["state dir"] == "ok"
    user = next(iter(emulator.tokens.values())).user_id
    emulator.set_credits(user, 0)
    text = cli("doctor").stdout
    assert "! credits" in text and "exports stay free" in text


def test_local_backend_without_the_extra_says_what_to_install(tmp_path: Path) -> None:
    # imageio_ffmpeg made unimportable, as on an install without the [local] extra.
    code = "import sys; sys.modules['imageio_ffmpeg'] = None; from nemo_mcp.cli import main; sys.exit(main())"
    env = {k: v for k, v in os.environ.items() if k != "NEMO_FFMPEG"}
    env["NEMO_STATE_DIR"] = str(tmp_path / "state")
    done = subprocess.run(
        [sys.executable, "-c", code, "--backend", "local"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "pip install 'nemo-mcp[local]'" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_state_in_a_terminal_lists_every_segment_of_a_long_timeline(cli: Any, emulator: Emulator) -> None:
    """An MCP result is an outline that names the timeline resource; a person at a terminal gets it all."""
    from bench.drafts import long_draft

    sid = json.loads(cli("new-session", "--json").stdout)["session_id"]
    emulator.set_draft(sid, long_draft(600))
    shown = cli("state").stdout
    numbers = [int(line.split(".", 1)[0]) for line in shown.splitlines() if line.split(".", 1)[0].isdigit()]
    assert "nemo://" not in shown and numbers == list(range(1, 601)), shown[-2000:]
    scripted = json.loads(cli("state", "--json").stdout)  # for scripts: the tool's bounded result
    assert scripted["segment_count"] == 600 and scripted["segments_shown"] < 600
    assert scripted["timeline_uri"].startswith("nemo://sessions/")
