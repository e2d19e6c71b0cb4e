"""The gzip technique's switch: Starlette's `GZipMiddleware`, chosen per request.

Flag on: the request goes through `GZipMiddleware(app)` with Starlette's defaults
(compresses bodies of 500 bytes or more for clients that accept gzip, streamed bodies
chunk by chunk, and says `Vary: Accept-Encoding`); flag off: straight to `app`. The
flag is read per request from the app's flag store, so a flip applies to the next
request. Register it inside the metrics middleware so the size metric sees wire bytes.
"""

from __future__ import annotations

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

FLAG = "gzip"


class GZipByFlag:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = self.gzip if scope["type"] == "http" and _flag_on(scope) else self.app
        await chosen(scope, receive, send)


def _flag_on(scope: Scope) -> bool:
    # Before the lifespan has run (or without it) there is no flag store: no gzip.
    resources = getattr(scope["app"].state, "resources", None)
    return resources is not None and resources.flags.enabled(FLAG)
