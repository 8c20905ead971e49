"""``nemo-mcp doctor``: the first thing to run when the assistant says something failed."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Literal

import httpx
from pydantic import BaseModel

from nemo_mcp.cloud.store import DB_FILE
from nemo_mcp.config import Settings
from nemo_mcp.core.connect import open_workflow
from nemo_mcp.errors import NemoError

Verdict = Literal["ok", "warn", "fail"]


class Check(BaseModel):
    name: str
    verdict: Verdict
    detail: str


class Diagnosis(BaseModel):
    checks: list[Check]

    @property
    def healthy(self) -> bool:
        return all(c.verdict != "fail" for c in self.checks)


def _dir_check(name: str, path: Path, private: bool) -> Check:
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700 if private else 0o777)
        probe = path / f".nemo-doctor-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return Check(name=name, verdict="fail", detail=f"{path} is not writable ({exc.strerror or exc})")
    if private:
        mode = stat.S_IMODE(path.stat().st_mode)
        state = path / DB_FILE
        if mode & 0o077:
            return Check(
                name=name, verdict="warn", detail=f"{path} is readable by others (mode {mode:o}); chmod 700 it"
            )
        if state.exists() and stat.S_IMODE(state.stat().st_mode) & 0o077:
            return Check(name=name, verdict="warn", detail=f"{state} is readable by others; chmod 600 it")
    return Check(name=name, verdict="ok", detail=str(path))


async def diagnose(settings: Settings) -> Diagnosis:
    checks = [
        Check(name="configuration", verdict="ok", detail=f"backend {settings.backend}, API {settings.api_base}"),
        _dir_check("state dir", settings.state_dir, private=True),
        _dir_check("output dir", settings.output_dir, private=False),
    ]
    ffmpeg = _ffmpeg_check()
    if settings.backend == "local":
        checks.append(ffmpeg)
    else:
        # On the cloud ffmpeg only serves get_frames, so its absence is a warning, not a failure.
        if ffmpeg.verdict == "fail":
            detail = f"get_frames needs it: pip install 'nemo-mcp[local]' ({ffmpeg.detail})"
            ffmpeg = Check(name="ffmpeg", verdict="warn", detail=detail)
        checks.append(ffmpeg)
        checks.append(await _reachable(settings.api_base))
    if checks[-1].verdict == "fail":
        return Diagnosis(checks=checks)
    try:
        async with open_workflow(settings, platform="terminal") as workflow:
            if workflow.offline:
                checks.append(
                    Check(name="local backend", verdict="ok", detail=f"serving at {workflow.settings.api_base}")
                )
                checks.append(Check(name="credits", verdict="ok", detail="offline editing is free"))
            else:
                started = time.monotonic()
                credits = await workflow.get_credits()
                took = (time.monotonic() - started) * 1000
                who = "your NEMO_TOKEN" if settings.token else f"{credits.account} token"
                checks.append(Check(name="token", verdict="ok", detail=f"{who} accepted ({took:.0f} ms)"))
                available = credits.available or 0
                verdict: Verdict = "ok" if available > 0 else "warn"
                detail = f"{available:g} available, {credits.frozen or 0:g} reserved"
                if available <= 0:
                    detail += "; instructions will fail until you top up (exports stay free)"
                checks.append(Check(name="credits", verdict=verdict, detail=detail))
            # Read last: opening the store and the backend is what finds damaged state.
            await workflow.store.current_session()
            for warning in workflow.warnings():
                checks.append(Check(name="saved state", verdict="warn", detail=warning))
    except NemoError as exc:
        checks.append(Check(name="token", verdict="fail", detail=str(exc)))
    return Diagnosis(checks=checks)


def _ffmpeg_check() -> Check:
    try:
        from nemo_mcp.local.probe import ffmpeg_exe

        exe = ffmpeg_exe()
    except Exception as exc:
        return Check(name="ffmpeg", verdict="fail", detail=str(exc))
    return Check(name="ffmpeg", verdict="ok", detail=exe)


async def _reachable(base: str) -> Check:
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.get(base)
    except httpx.HTTPError as exc:
        return Check(
            name="API reachable",
            verdict="fail",
            detail=f"cannot reach {base} ({type(exc).__name__}); check the network, a proxy, or NEMO_API_BASE",
        )
    return Check(name="API reachable", verdict="ok", detail=f"{base} answered HTTP {answer.status_code}")


def render(report: Diagnosis) -> str:
    marks = {"ok": "✓", "warn": "!", "fail": "✗"}
    lines = [f"{marks[c.verdict]} {c.name}: {c.detail}" for c in report.checks]
    lines.append("All good." if report.healthy else "Something needs fixing (✗ above).")
    return "\n".join(lines)
