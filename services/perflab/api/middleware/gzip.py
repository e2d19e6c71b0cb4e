"""gzip compression of responses, as pure ASGI middleware switched by the `gzip` flag.

Compresses only when the flag is on (read per request from the app's flag store),
the client accepts gzip, the body is compressible text and at least `minimum_size`
bytes (small bodies grow with gzip's 18-byte frame and cost CPU for nothing).
Streaming bodies are compressed chunk by chunk. Eligible responses say
`Vary: Accept-Encoding` whether or not this client got gzip, so shared caches keep
both forms apart; a compressed response loses `Content-Length` (or gets the new one)
and its strong `ETag` becomes weak, as the bytes differ from the identity form.
Register it inside the metrics middleware so the size metric sees wire bytes.
"""

from __future__ import annotations

import re
import zlib

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FLAG = "gzip"
# No compression for statuses without a body, or bodies already encoded or binary.
_NO_BODY_STATUSES = frozenset({204, 304})
_COMPRESSIBLE = re.compile(
    r"^(text/|application/(json|javascript|xml|x-ndjson|openmetrics-text)|"
    r"application/[\w.+-]+\+(json|xml)|image/svg\+xml)",
    re.IGNORECASE,
)
_CODING = re.compile(r"^\s*([\w*-]+)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


def accepts_gzip(accept_encoding: str) -> bool:
    """True when `Accept-Encoding` lists gzip (or `*`) with a non-zero q-value."""
    q_by_coding: dict[str, float] = {}
    for item in accept_encoding.split(","):
        match = _CODING.match(item)
        if not match:
            continue
        try:
            q = float(match.group(2)) if match.group(2) else 1.0
        except ValueError:
            continue
        q_by_coding[match.group(1).lower()] = q
    q = q_by_coding.get("gzip", q_by_coding.get("x-gzip", q_by_coding.get("*", 0.0)))
    return q > 0


class GZipMiddleware:
    def __init__(self, app: ASGIApp, *, minimum_size: int = 1024, level: int = 6) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.level = level

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "HEAD" or not _flag_on(scope):
            await self.app(scope, receive, send)
            return
        accepts = accepts_gzip(Headers(scope=scope).get("accept-encoding", ""))
        responder = _Responder(send, accepts, self.minimum_size, self.level)
        await self.app(scope, receive, responder.send)


def _flag_on(scope: Scope) -> bool:
    # Before the lifespan has run (or without it) there is no flag store: no gzip.
    resources = getattr(scope["app"].state, "resources", None)
    return resources is not None and resources.flags.enabled(FLAG)


class _Responder:
    """Holds the start message until the first message after it says how to answer."""

    def __init__(self, send: Send, accepts: bool, minimum_size: int, level: int) -> None:
        self._send = send
        self._accepts = accepts
        self._minimum_size = minimum_size
        self._level = level
        self._start: Message | None = None
        self._compressor: zlib._Compress | None = None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._start = message
        elif self._start is None:
            await self._body(message)
        else:
            start, self._start = self._start, None
            await self._begin(start, message)

    async def _begin(self, start: Message, message: Message) -> None:
        body: bytes = message.get("body", b"")
        streaming: bool = message.get("more_body", False)
        if message["type"] != "http.response.body" or not self._eligible(
            start, len(body), streaming
        ):
            await self._send(start)
            await self._send(message)
            return
        headers = MutableHeaders(raw=list(start["headers"]))
        if "accept-encoding" not in headers.get("vary", "").lower():
            headers.add_vary_header("Accept-Encoding")
        if not self._accepts:
            await self._send({**start, "headers": headers.raw})
            await self._send(message)
            return
        headers["Content-Encoding"] = "gzip"
        etag = headers.get("etag")
        if etag and etag.startswith('"'):
            headers["ETag"] = f"W/{etag}"
        # 16 + MAX_WBITS: a gzip container (header + CRC), not a raw zlib stream.
        self._compressor = zlib.compressobj(self._level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        if streaming:
            del headers["Content-Length"]
            await self._send({**start, "headers": headers.raw})
            await self._body(message)
            return
        compressed = self._compressor.compress(body) + self._compressor.flush()
        headers["Content-Length"] = str(len(compressed))
        await self._send({**start, "headers": headers.raw})
        await self._send({"type": "http.response.body", "body": compressed})

    def _eligible(self, start: Message, size: int, streaming: bool) -> bool:
        headers = Headers(raw=start["headers"])
        return (
            start["status"] >= 200
            and start["status"] not in _NO_BODY_STATUSES
            and "content-encoding" not in headers
            and bool(_COMPRESSIBLE.match(headers.get("content-type", "")))
            and (streaming or size >= self._minimum_size)
        )

    async def _body(self, message: Message) -> None:
        if self._compressor is None or message["type"] != "http.response.body":
            await self._send(message)
            return
        more = message.get("more_body", False)
        data = self._compressor.compress(message.get("body", b""))
        if not more:
            data += self._compressor.flush()
        elif not data:
            return  # zlib kept it all in its window; nothing to put on the wire yet
        await self._send({"type": "http.response.body", "body": data, "more_body": more})
