"""Per-request profiles (`X-Profile: cpu|memory`), as pure ASGI middleware.

The API's adapter of the framework-neutral core in `perflab.profile`: `decide` says
whether a request is profiled, a capture wraps it, the answer goes out unchanged plus
`X-Profile-Url: /profiles/<id>`, and the profile is stored in Redis. The answer's last
body message is held back until the profile is stored, so a client that has the
whole answer can fetch the profile at once. Added only when profiling is enabled:
otherwise no request pays for it. Outermost, so a profile includes every middleware.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from perflab.profile import store
from perflab.profile.capture import (
    PROFILES_PATH,
    SKIPPED_HEADER,
    URL_HEADER,
    CpuCapture,
    Kind,
    Profile,
    decide,
)
from perflab.profile.memory import Busy, MemoryCapture
from perflab.settings import Settings

log = logging.getLogger(__name__)

_REQUEST = b"x-profile"
_AUTHORIZATION = b"authorization"


def _add_header(message: Message, name: str, value: str) -> None:
    message["headers"] = [*message.get("headers", ()), (name.lower().encode(), value.encode())]


class ProfilingMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings, service: str = "api") -> None:
        self.app = app
        self.settings = settings
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        requested = authorization = None
        for name, value in scope["headers"]:
            if name == _REQUEST:
                requested = value.decode("latin-1")
            elif name == _AUTHORIZATION:
                authorization = value.decode("latin-1")
        if requested is None:
            await self.app(scope, receive, send)
            return
        decision = decide(
            self.settings.profiling, self.settings.admin_token, requested, authorization
        )
        if decision.kind is None:
            await self.app(scope, receive, _with_header(send, SKIPPED_HEADER, decision.skipped))
            return
        capture: CpuCapture | MemoryCapture
        if decision.kind is Kind.CPU:
            capture = CpuCapture(self.settings.profiling.cpu_interval_seconds)
        else:
            capture = MemoryCapture(self.settings.profiling.memory_frames)
        try:
            capture.start()
        except Busy as exc:
            await self.app(scope, receive, _with_header(send, SKIPPED_HEADER, str(exc)))
            return
        await self._profiled(scope, receive, send, decision.kind, capture)

    async def _profiled(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        kind: Kind,
        capture: CpuCapture | MemoryCapture,
    ) -> None:
        profile_id = store.new_id()
        status: int | None = None
        last: Message | None = None

        async def send_wrapper(message: Message) -> None:
            nonlocal status, last
            if message["type"] == "http.response.start":
                status = message["status"]
                _add_header(message, URL_HEADER, f"{PROFILES_PATH}/{profile_id}")
                if isinstance(capture, MemoryCapture):
                    capture.mark()  # what the answer holds, before it is sent and freed
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                last = message  # sent once the profile is stored
                return
            await send(message)

        stopped = False
        try:
            await self.app(scope, receive, send_wrapper)
            seconds, data = capture.stop()
            stopped = True
            query = scope.get("query_string", b"").decode("latin-1")
            profile = Profile(
                id=profile_id,
                kind=kind,
                service=self.service,
                request=f"{scope['method']} {scope['path']}" + (f"?{query}" if query else ""),
                status=status,
                seconds=seconds,
                data=data,
            )
            await self._store(scope, profile)
        finally:
            if not stopped:
                capture.stop()
            if last is not None:
                await send(last)

    async def _store(self, scope: Scope, profile: Profile) -> None:
        resources = getattr(scope["app"].state, "resources", None)
        if resources is None:
            return
        try:
            await store.save(resources.redis, profile, self.settings.profiling.ttl_seconds)
        except Exception as exc:  # noqa: BLE001 - the answer must go out unchanged anyway
            log.warning("profile %s not stored: %s", profile.id, exc)


def _with_header(send: Send, name: str, value: str | None) -> Send:
    if value is None:
        return send

    async def send_with_header(message: Message) -> None:
        if message["type"] == "http.response.start":
            _add_header(message, name, value)
        await send(message)

    return send_with_header
