"""A quiet local HTTP server answering JSON, for tests that need something to call."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JsonStub(BaseHTTPRequestHandler):
    """Answers every GET with `answer(path)` as JSON; subclasses say what."""

    def answer(self, path: str) -> bytes:
        raise NotImplementedError

    def do_GET(self) -> None:
        body = self.answer(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@contextmanager
def serving(handler: type[JsonStub]) -> Iterator[str]:
    """`handler` on a free loopback port, for the block; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
