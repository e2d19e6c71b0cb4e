"""The admin token: once one is configured, every state-changing request needs it.

Pure ASGI, ahead of routing and body parsing: a write without the token is a 401
whatever it asks (an unknown flag, a bad body, an order that does not exist), so
nothing is learned or changed without it. Safe methods (GET, HEAD, OPTIONS) pass.
The credential also names the audit actor, kept in the request's state (`actor`):
"admin" for the token, "anonymous@<client>" when no token is configured. Nothing a
client merely says about itself (a header) becomes the actor.
"""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from perflab.api.middleware.answers import send_error

GUARDED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ACTOR = "actor"  # key of the request's state (`request.state.actor`)
ADMIN_ACTOR = "admin"


def actor_of(state: object) -> str:
    return str(getattr(state, ACTOR, "unknown"))


class AdminTokenMiddleware:
    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in GUARDED_METHODS:
            await self.app(scope, receive, send)
            return
        if self._expected is None:
            client = scope.get("client")
            actor = f"anonymous@{client[0] if client else 'unknown'}"
        else:
            given = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
            if not hmac.compare_digest(given, self._expected):
                await send_error(
                    send,
                    401,
                    f"{scope['method']} needs 'Authorization: Bearer <admin token>' "
                    "(PERFLAB_ADMIN_TOKEN)",
                    headers=[(b"www-authenticate", b"Bearer")],
                )
                return
            actor = ADMIN_ACTOR
        scope.setdefault("state", {})[ACTOR] = actor
        await self.app(scope, receive, send)
