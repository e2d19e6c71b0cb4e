"""The framework ceilings: the smallest JSON answers, with no lab code at all.

- `app`: a pure ASGI app, what uvicorn can do with no framework;
- `fastapi_app`: a bare FastAPI endpoint returning a small dict, what the framework
  costs with nothing of the lab's (no middleware, no dependency, no database). The
  lab's paths are reported as a share of this one: the gap is what the lab adds.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

_BODY = b'{"status":"ok"}'
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"15")]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":  # lifespan: nothing to set up
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})


fastapi_app = FastAPI()


@fastapi_app.get("/")
async def status() -> dict[str, str]:
    return {"status": "ok"}
