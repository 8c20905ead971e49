"""Settings: the environment, read once, into one object.

Every ``NEMO_*`` variable is listed in ``VARIABLES`` with its default and
meaning; ``--help``, the README table and ``server.json`` are made from it.
A bad value is a :class:`ConfigError` naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from nemo_mcp.errors import ConfigError

DEFAULT_API_BASE = "https://mega-api-prod.nemovideo.ai"
DEFAULT_WEB_URL = "https://nemovideo.com"
DEFAULT_SKILL_SOURCE = "ai-animations"


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    help: str
    secret: bool = False


VARIABLES: tuple[Variable, ...] = (
    Variable("NEMO_TOKEN", "unset", "your own NemoVideo token; when set, no anonymous token is requested", True),
    Variable("NEMO_API_BASE", DEFAULT_API_BASE, "API base URL"),
    Variable("NEMO_BACKEND", "cloud", "`cloud`, or `local` for the offline editor and ffmpeg renderer"),
    Variable("NEMO_STATE_DIR", "user state dir/nemo-mcp", "client id, cached token, known sessions"),
    Variable("NEMO_OUTPUT_DIR", "Downloads/NemoVideo", "where exported videos are written"),
    Variable(
        "NEMO_ALLOWED_DIRS",
        "unset (any)",
        "folders separated by `:` (`;` on Windows); uploads may only read files under these",
    ),
    Variable(
        "NEMO_ROOTS_TIMEOUT_SECONDS",
        "5",
        "how long the client may take to list its MCP roots before an upload is refused",
    ),
    Variable(
        "NEMO_ALLOW_PRIVATE_URLS",
        "unset (refused)",
        "`1` lets the offline backend fetch upload links on this computer or the local network "
        "(loopback, private, link-local addresses)",
    ),
    Variable("NEMO_URL_FETCH_SECONDS", "120", "offline backend: longest fetching the links of one upload may take"),
    Variable(
        "NEMO_ALLOWED_HOSTS",
        "unset",
        "streamable HTTP: host names (`name` or `name:port`, comma-separated) requests may carry in `Host`, "
        "besides 127.0.0.1 and localhost; same as `--allowed-host`",
    ),
    Variable("NEMO_LANGUAGE", "en", "language for new sessions (en, zh-CN, ja, es, ...)"),
    Variable("NEMO_TOOL_WAIT_SECONDS", "45", "how long a tool call waits before handing back a job id"),
    Variable("NEMO_RENDER_POLL_SECONDS", "30", "seconds between export status polls"),
    Variable("NEMO_RATE_LIMIT_WAIT_SECONDS", "30", "wait after a 429 before the one retry"),
    Variable("NEMO_SSE_TIMEOUT_SECONDS", "900", "longest an instruction may stream"),
    Variable("NEMO_RENDER_TIMEOUT_SECONDS", "600", "longest an export may take before it is reported stuck"),
    Variable("NEMO_STATE_POLL_SECONDS", "30", "seconds between state reads after a dropped stream"),
    Variable("NEMO_DROP_RECOVERY_SECONDS", "300", "how long to watch the state after a dropped stream"),
    Variable("NEMO_RETRY_BACKOFF_SECONDS", "1", "first back-off before retrying a failed read (doubles)"),
    Variable("NEMO_CLIENT_ID", "generated UUID4", "the X-Client-Id for anonymous tokens"),
    Variable("NEMO_WEB_URL", DEFAULT_WEB_URL, "base of links shown to the user (registration)"),
    Variable("NEMO_SKILL_SOURCE", DEFAULT_SKILL_SOURCE, "the X-Skill-Source attribution header"),
    Variable("NEMO_FFMPEG", "imageio-ffmpeg's binary", "ffmpeg used by the local backend"),
    Variable("NEMO_LOG_LEVEL", "INFO", "log level on stderr (DEBUG, INFO, WARNING, ERROR)"),
)


@dataclass(frozen=True)
class Settings:
    token: str | None = field(default=None, repr=False)
    # Set only while a local backend serves this process (core/connect.py): its per-install secret,
    # sent as the bearer token instead of any NemoVideo token. Not from the environment.
    backend_secret: str | None = field(default=None, repr=False)
    api_base: str = DEFAULT_API_BASE
    backend: str = "cloud"
    state_dir: Path = field(default_factory=lambda: _default_state_dir())
    output_dir: Path = field(default_factory=lambda: _default_output_dir())
    allowed_dirs: tuple[Path, ...] = ()
    roots_timeout_seconds: float = 5.0
    allow_private_urls: bool = False
    url_fetch_seconds: float = 120.0
    allowed_hosts: tuple[str, ...] = ()
    language: str = "en"
    tool_wait_seconds: float = 45.0
    render_poll_seconds: float = 30.0
    rate_limit_wait_seconds: float = 30.0
    sse_timeout_seconds: float = 900.0
    render_timeout_seconds: float = 600.0
    state_poll_seconds: float = 30.0
    drop_recovery_seconds: float = 300.0
    retry_backoff_seconds: float = 1.0
    read_retries: int = 3
    client_id: str | None = None
    web_url: str = DEFAULT_WEB_URL
    skill_source: str = DEFAULT_SKILL_SOURCE
    log_level: str = "INFO"

    def __repr__(self) -> str:
        # Never show the token, even by accident in a debug log.
        token = "set" if self.token else "unset"
        return f"Settings(api_base={self.api_base!r}, backend={self.backend!r}, token={token})"


def _default_state_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_state_dir("nemo-mcp", appauthor=False))


def _default_output_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_downloads_dir()) / "NemoVideo"


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {raw!r}.") from None
    if value < 0 or value != value or value == float("inf"):
        raise ConfigError(f"{name} must be a finite number of seconds ≥ 0, not {raw!r}.")
    return value


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    if not raw.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an http(s) URL, not {raw!r}.")
    return raw.rstrip("/")


def _path(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(name, "").strip()
    return Path(raw).expanduser() if raw else None


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be 1 or 0, not {raw!r}.")


def _hosts(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    hosts = tuple(h.strip().lower() for h in env.get(name, "").split(",") if h.strip())
    for host in hosts:
        if any(c in host for c in "/ @") or host.startswith("http"):
            raise ConfigError(f"{name} takes host names such as example.lan or example.lan:8000, not {host!r}.")
    return hosts


def load_settings(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Read the settings from ``env`` (default ``os.environ``); ``overrides`` win (CLI flags)."""
    env = os.environ if env is None else env
    backend = str(overrides.get("backend") or env.get("NEMO_BACKEND", "").strip() or "cloud").lower()
    if backend not in ("cloud", "local"):
        raise ConfigError(f"NEMO_BACKEND must be 'cloud' or 'local', not {backend!r}.")
    local = backend == "local"
    client_id = env.get("NEMO_CLIENT_ID", "").strip() or None
    if client_id is not None and len(client_id) > 64:
        raise ConfigError("NEMO_CLIENT_ID must be at most 64 characters.")
    log_level = (env.get("NEMO_LOG_LEVEL", "").strip() or "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"NEMO_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {log_level!r}.")
    allowed = tuple(Path(p).expanduser() for p in env.get("NEMO_ALLOWED_DIRS", "").split(os.pathsep) if p.strip())
    values: dict[str, object] = dict(
        token=env.get("NEMO_TOKEN", "").strip() or None,
        api_base=_url(env, "NEMO_API_BASE", DEFAULT_API_BASE),
        backend=backend,
        allowed_dirs=allowed,
        roots_timeout_seconds=_seconds(env, "NEMO_ROOTS_TIMEOUT_SECONDS", 5.0),
        allow_private_urls=_flag(env, "NEMO_ALLOW_PRIVATE_URLS"),
        url_fetch_seconds=_seconds(env, "NEMO_URL_FETCH_SECONDS", 120.0),
        allowed_hosts=_hosts(env, "NEMO_ALLOWED_HOSTS"),
        language=env.get("NEMO_LANGUAGE", "").strip() or "en",
        tool_wait_seconds=_seconds(env, "NEMO_TOOL_WAIT_SECONDS", 45.0),
        # The local renderer answers at once: polling it every 30 s would only add waiting.
        render_poll_seconds=_seconds(env, "NEMO_RENDER_POLL_SECONDS", 1.0 if local else 30.0),
        rate_limit_wait_seconds=_seconds(env, "NEMO_RATE_LIMIT_WAIT_SECONDS", 30.0),
        sse_timeout_seconds=_seconds(env, "NEMO_SSE_TIMEOUT_SECONDS", 900.0),
        render_timeout_seconds=_seconds(env, "NEMO_RENDER_TIMEOUT_SECONDS", 600.0),
        state_poll_seconds=_seconds(env, "NEMO_STATE_POLL_SECONDS", 1.0 if local else 30.0),
        drop_recovery_seconds=_seconds(env, "NEMO_DROP_RECOVERY_SECONDS", 300.0),
        retry_backoff_seconds=_seconds(env, "NEMO_RETRY_BACKOFF_SECONDS", 1.0),
        client_id=client_id,
        web_url=_url(env, "NEMO_WEB_URL", DEFAULT_WEB_URL),
        skill_source=env.get("NEMO_SKILL_SOURCE", "").strip() or DEFAULT_SKILL_SOURCE,
        log_level=log_level,
    )
    if (state_dir := _path(env, "NEMO_STATE_DIR")) is not None:
        values["state_dir"] = state_dir
    if (output_dir := _path(env, "NEMO_OUTPUT_DIR")) is not None:
        values["output_dir"] = output_dir
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)  # type: ignore[arg-type]
