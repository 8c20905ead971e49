"""The download copier against real local HTTP servers: redirects, truncation, cancellation."""

from __future__ import annotations

import http.server
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from nemo_mcp.cloud import transfer as download

BODY = bytes(range(256)) * 8192  # 2 MiB


class _Handler(http.server.BaseHTTPRequestHandler):
    seen: list[dict[str, str]]
    redirect_to: str | None = None
    truncate: bool = False

    def do_GET(self) -> None:
        self.seen.append({k.lower(): v for k, v in self.headers.items()})
        if self.redirect_to and self.path == "/start":
            self.send_response(302)
            self.send_header("Location", self.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/missing":
            self.send_response(404)
            body = b'{"code": 404, "message": "gone"}'
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY[: len(BODY) // 2] if self.truncate else BODY)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(**attrs: Any) -> tuple[str, list[dict[str, str]]]:
        seen: list[dict[str, str]] = []
        handler = type("H", (_Handler,), {"seen": seen, **attrs})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", seen

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def fetch(url: str, headers: dict[str, str] | None = None, cancel: bool = False) -> tuple[bytes, int, int | None]:
    reports: list[int] = []
    flag = threading.Event()
    if cancel:
        flag.set()
    with tempfile.TemporaryFile() as out:
        done, total = download.fetch(url, headers or {}, out, lambda d, t: reports.append(d), flag, timeout=10)
        out.seek(0)
        body = out.read()
    assert reports[-1] == done
    return body, done, total


def test_copies_the_whole_body(serve: Any) -> None:
    base, _ = serve()
    body, done, total = fetch(f"{base}/file.mp4")
    assert body == BODY and done == total == len(BODY)


def test_the_token_never_follows_a_redirect_to_another_origin(serve: Any) -> None:
    cdn, cdn_seen = serve()
    api, api_seen = serve(redirect_to=f"{cdn}/file.mp4")
    body, _, _ = fetch(f"{api}/start", {"Authorization": "Bearer nmv_usr_secret"})
    assert body == BODY
    assert api_seen[0]["authorization"] == "Bearer nmv_usr_secret"
    assert "authorization" not in cdn_seen[0]


def test_same_origin_redirects_keep_the_token(serve: Any) -> None:
    api, api_seen = serve(redirect_to="/file.mp4")
    body, _, _ = fetch(f"{api}/start", {"Authorization": "Bearer t"})
    assert body == BODY
    assert [h.get("authorization") for h in api_seen] == ["Bearer t", "Bearer t"]


def test_errors_are_told_apart(serve: Any) -> None:
    base, _ = serve()
    with pytest.raises(download.StatusError) as caught:
        fetch(f"{base}/missing")
    assert caught.value.status == 404 and "gone" in caught.value.body
    with pytest.raises(download.NetworkError):
        fetch("http://127.0.0.1:9/nothing-listens-here")
    with pytest.raises(download.Cancelled):
        fetch(f"{base}/file.mp4", cancel=True)
    short, _ = serve(truncate=True)
    _, done, total = fetch(f"{short}/file.mp4")
    assert total == len(BODY) and done < total  # the caller sees the shortfall
