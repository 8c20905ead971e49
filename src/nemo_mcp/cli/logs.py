"""Logs: on stderr only (stdout carries the MCP protocol on stdio), with every token masked."""

from __future__ import annotations

import logging
import re
import sys

_TOKEN_TEXT = re.compile(r"(nmv_[A-Za-z]+_)[A-Za-z0-9_\-.]+|(Bearer\s+)\S+")


def redact(text: str) -> str:
    """``text`` with anything that looks like a token masked."""
    return _TOKEN_TEXT.sub(lambda m: (m.group(1) or m.group(2)) + "***", text)


class RedactingFilter(logging.Filter):
    """Masks tokens in every record a handler emits, whoever logged it and at any level."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        message = redact(record.getMessage())
        for secret in self._secrets:
            message = message.replace(secret, "***")
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        record.msg, record.args = message, None
        return True


def configure_logging(level: str, token: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter((token,) if token else ()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("nemo_mcp").setLevel(level)
    # httpx logs every request at INFO, and uvicorn (the MCP server over HTTP, the offline backend) every
    # answer and its own start and stop: useful only when debugging.
    logging.getLogger("httpx").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    logging.getLogger("uvicorn").setLevel(logging.INFO if level == "DEBUG" else logging.WARNING)
