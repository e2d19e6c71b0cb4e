"""An OTLP/HTTP trace receiver for tests: it decodes every export with the official
protobuf classes (a malformed body fails the export) and keeps the spans."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.exports: list[ExportTraceServiceRequest] = []

    def spans(self) -> list[tuple[str, Span]]:
        """(service.name, span) for every span received so far."""
        with self.lock:
            exports = list(self.exports)
        out = []
        for export in exports:
            for resource_spans in export.resource_spans:
                service = {
                    kv.key: kv.value.string_value for kv in resource_spans.resource.attributes
                }["service.name"]
                for scope_spans in resource_spans.scope_spans:
                    out += [(service, span) for span in scope_spans.spans]
        return out

    def clear(self) -> None:
        with self.lock:
            self.exports.clear()


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        export = ExportTraceServiceRequest.FromString(body)  # raises on a malformed body
        with self.server.lock:
            self.server.exports.append(export)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextmanager
def otlp_receiver() -> Iterator[Receiver]:
    """A receiver on a free loopback port, served from a thread; always shut down."""
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def attributes(span: Span) -> dict[str, object]:
    return {kv.key: getattr(kv.value, kv.value.WhichOneof("value")) for kv in span.attributes}
