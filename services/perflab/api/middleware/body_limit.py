"""A request-body limit (`PERFLAB_API__MAX_BODY_BYTES`, 1 MiB by default): 413 beyond it.

Pure ASGI. A declared `Content-Length` over the limit is refused before a byte of the
body is read; a chunked body is counted as it arrives and refused once it passes the
limit, so no request makes the API read or parse more than the limit.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from perflab.api.middleware.answers import send_error


def _too_large(limit: int) -> str:
    return f"request body larger than {limit} bytes (PERFLAB_API__MAX_BODY_BYTES)"


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and not declared.isdigit():
            await send_error(send, 400, "Content-Length is not a number of bytes")
            return
        if declared is not None and int(declared) > self.max_bytes:
            await send_error(send, 413, _too_large(self.max_bytes))
            return
        limit, seen = self.max_bytes, 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Raised inside the route's body read: the app's handler answers 413.
                    raise HTTPException(413, _too_large(limit))
            return message

        await self.app(scope, counted, send)
