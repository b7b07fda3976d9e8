"""A local HTTP server for the web tests: the fixture pages and feeds, and routes that fail.

It listens on 127.0.0.1 only, serves `fixtures/web/` with the literal `PORT` in feed links
replaced by its port, answers conditional requests on feeds with 304, and counts every
request by path so tests can assert what was fetched, and how often.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

WEB = Path(__file__).resolve().parent.parent / "fixtures" / "web"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
FEED_TYPES = {".xml": "application/rss+xml", ".rss": "application/rss+xml"}


class FixtureServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: Counter[str] = Counter()
        self.headers_seen: dict[str, list[dict[str, str]]] = {}
        self.robots: str | None = "User-agent: *\nDisallow: /private/\n"
        self.extra: dict[str, tuple[int, str, bytes]] = {}  # path -> (status, type, body)
        self.lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def fixture(self, relative: str) -> bytes | None:
        path = WEB / relative
        if not path.is_file():
            return None
        return path.read_bytes().replace(b"PORT", str(self.server_address[1]).encode())


class _Handler(BaseHTTPRequestHandler):
    server: FixtureServer

    def log_message(self, *_args: object) -> None:  # keep pytest's output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        path = self.path.split("?", 1)[0]
        with self.server.lock:
            self.server.hits[path] += 1
            count = self.server.hits[path]
            self.server.headers_seen.setdefault(path, []).append(dict(self.headers))
        try:
            self._route(path, count)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (a response over its size limit)

    def _send(self, status: int, kind: str, body: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _route(self, path: str, count: int) -> None:
        server = self.server
        html = "text/html; charset=utf-8"
        if path in server.extra:
            status, kind, body = server.extra[path]
            self._send(status, kind, body)
        elif path == "/robots.txt":
            if server.robots is None:
                self._send(404, "text/plain", b"no robots here")
            else:
                self._send(200, "text/plain", server.robots.encode())
        elif path.startswith(("/pages/", "/private/")):
            body = server.fixture("pages/" + path.rsplit("/", 1)[1])
            if body is None:
                self._send(404, html, b"<html><body>Not found</body></html>")
            else:
                self._send(200, html, body)
        elif path.startswith(("/feeds/", "/mirror/")):
            name = path.rsplit("/", 1)[1]
            body = server.fixture("feeds/" + name)
            if body is None:
                self._send(404, "text/plain", b"not found")
                return
            kind = "application/atom+xml" if name.startswith("atom") else "application/rss+xml"
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self._send(200, kind, body, ETag=etag, Last_Modified="Mon, 26 Feb 2024 13:15:00 GMT")
        elif path.startswith("/redirect/"):
            hops = int(path.rsplit("/", 1)[1])
            target = f"/redirect/{hops - 1}" if hops > 1 else "/pages/02-opengraph.html"
            self.send_response(301 if hops % 2 else 302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/flaky":
            if count == 1:
                self._send(500, "text/plain", b"try again")
            else:
                self._send(200, html, server.fixture("pages/09-french.html") or b"")
        elif path == "/always-500":
            self._send(503, "text/plain", b"down for maintenance")
        elif path == "/slow":
            time.sleep(2.0)
            self._send(200, html, server.fixture("pages/01-jsonld.html") or b"")
        elif path == "/gzip":
            body = gzip.compress(server.fixture("pages/08-timezone.html") or b"")
            self._send(200, html, body, Content_Encoding="gzip")
        elif path == "/image":
            self._send(200, "image/png", PNG)
        elif path == "/binary.html":
            self._send(200, "text/html", PNG)
        elif path == "/nodate":
            self._send(200, html, server.fixture("pages/05-no-date.html") or b"")
        elif path == "/huge":  # announced as 50 MB: refused before reading a byte
            self.send_response(200)
            self.send_header("Content-Type", html)
            self.send_header("Content-Length", str(50 * 2**20))
            self.end_headers()
            self.wfile.write(b"<html><body>" + b"x" * 65536)
        elif path == "/huge-stream":  # no length given: cut off while streaming
            self.send_response(200)
            self.send_header("Content-Type", html)
            self.end_headers()
            chunk = b"<p>" + b"y" * 65530 + b"</p>\n"
            for _ in range(400):  # 26 MB, over the 20 MB limit
                self.wfile.write(chunk)
        elif path == "/latin1-as-utf8":
            page = (server.fixture("pages/02-opengraph.html") or b"").decode("utf-8")
            self._send(200, "text/html", page.encode("latin-1", "replace"))
        else:
            self._send(404, html, b"<html><body>Not found</body></html>")


@contextmanager
def fixture_server() -> Iterator[FixtureServer]:
    server = FixtureServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
