"""The JSON answers of the API, in the envelopes the vendor's clients expect.

Business errors (1001 token, 1002 session, 2001 credits, 4001 file type, 4002 file size) come
as HTTP 200 with ``{"code": N, "message": ...}``; transport-level ones (400, 401, 402, 429, 5xx)
carry that HTTP status and the same body; render endpoints refuse with
``{"success": false, "error": ...}``. JSON is written compactly and deterministically, so the
same state is answered with the same bytes.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(data: Any, status: int = 200) -> Response:
    return Response(dumps(data), status_code=status, media_type="application/json")


def ok(data: Any) -> Response:
    return json_response({"code": 0, "data": data})


def business_error(code: int, message: str) -> Response:
    return json_response({"code": code, "message": message})


def http_error(status: int, message: str) -> Response:
    return json_response({"code": status, "message": message}, status)


def render_error(status: int, message: str) -> Response:
    return json_response({"success": False, "error": message}, status)


def session_not_found() -> Response:
    return business_error(1002, "Session not found")


class Refused(Exception):
    """A request the server will not serve: answered ``{"code": code, "message": ...}`` with ``status``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> Response:
        return json_response({"code": self.code, "message": self.message}, self.status)
