"""Which requests to profile, and the CPU capture (pyinstrument) around one of them.

Framework-neutral: an adapter reads two request headers, calls `decide`, wraps the
request in a `CpuCapture` or a `memory.MemoryCapture`, answers unchanged plus the
`X-Profile-Url` header, and stores the `Profile` (store.py). A request is profiled only
when `PERFLAB_PROFILING__ENABLED` is set, and, when an admin token is configured, only
with `Authorization: Bearer <token>`: a profile slows the request and shows code paths.
"""

from __future__ import annotations

import hmac
import os
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import SecretStr
from pyinstrument import Profiler

from perflab.settings import ProfilingSettings

REQUEST_HEADER = "X-Profile"
URL_HEADER = "X-Profile-Url"
# Sent back when a profile was asked for (profiling on) but not taken, saying why.
SKIPPED_HEADER = "X-Profile-Skipped"
PROFILES_PATH = "/profiles"


class Kind(StrEnum):
    CPU = "cpu"
    MEMORY = "memory"


@dataclass(frozen=True)
class Decision:
    kind: Kind | None
    skipped: str | None = None  # a requested profile that will not be taken: why


def authorized(token: SecretStr | None, authorization: str | None) -> bool:
    if token is None:
        return True
    expected = f"Bearer {token.get_secret_value()}"
    return authorization is not None and hmac.compare_digest(authorization, expected)


def decide(
    settings: ProfilingSettings,
    admin_token: SecretStr | None,
    requested: str | None,
    authorization: str | None,
) -> Decision:
    """Whether this request is profiled, and how. Profiling off: the header is ignored."""
    if not settings.enabled or requested is None:
        return Decision(None)
    try:
        kind = Kind(requested.strip().lower())
    except ValueError:
        return Decision(None, f"unknown profile kind {requested.strip()!r}: use cpu or memory")
    if not authorized(admin_token, authorization):
        return Decision(None, "profiles need 'Authorization: Bearer <admin token>'")
    return Decision(kind)


@dataclass
class Profile:
    """One stored profile: what was profiled, where, and the capture's own data."""

    id: str
    kind: Kind
    service: str
    request: str  # e.g. "GET /books?limit=50"
    status: int | None
    seconds: float
    pid: int = field(default_factory=os.getpid)
    created: float = field(default_factory=time.time)
    # cpu: {"session": pyinstrument's session JSON}; memory: memory.report(...)
    data: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Everything but the bulky data: what a listing or a log line shows."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "service": self.service,
            "request": self.request,
            "status": self.status,
            "seconds": round(self.seconds, 6),
            "pid": self.pid,
            "created": self.created,
        }


class CpuCapture:
    """pyinstrument around one request. `async_mode="enabled"`: in an event loop only
    this request's task is sampled, and time spent awaiting shows as `await` frames, so
    concurrent requests do not pollute the profile."""

    def __init__(self, interval_seconds: float) -> None:
        self._profiler = Profiler(interval=interval_seconds, async_mode="enabled")
        self._started = 0.0

    def start(self) -> None:
        self._started = time.perf_counter()
        self._profiler.start()

    def stop(self) -> tuple[float, dict[str, Any]]:
        session = self._profiler.stop()
        return time.perf_counter() - self._started, {"session": session.to_json()}
