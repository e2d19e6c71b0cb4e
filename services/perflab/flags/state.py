"""The in-process view of the flags, shared by the async and the threaded listeners.

Each process keeps the last state it saw, so a brief Redis outage changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from perflab.errors import NotFound
from perflab.flags.catalog import FLAGS
from perflab.settings import FlagSettings
from perflab.telemetry.metrics import FLAG_ENABLED

REDIS_KEY = "perflab:flags"
REDIS_CHANNEL = "perflab:flags:changed"
REDIS_HISTORY = "perflab:flags:history"
HISTORY_LIMIT = 1000


@dataclass(frozen=True)
class Flip:
    flag: str
    old: bool
    new: bool
    actor: str
    at: str  # ISO 8601, UTC


def encode(value: bool) -> str:
    return "1" if value else "0"


def decode(raw: str | bytes | None, default: bool) -> bool:
    if raw is None:
        return default
    if isinstance(raw, bytes):
        raw = raw.decode()
    return raw == "1"


class FlagState:
    def __init__(self, defaults: FlagSettings, names: Iterable[str] = FLAGS) -> None:
        self._defaults = {name: defaults.default_for(name) for name in names}
        self._values = dict(self._defaults)
        self._lock = threading.Lock()
        self._export()

    @property
    def names(self) -> list[str]:
        return list(self._values)

    @property
    def defaults(self) -> dict[str, bool]:
        return dict(self._defaults)

    def check(self, name: str) -> None:
        if name not in self._values:
            raise NotFound(f"unknown flag {name!r}; known flags: {', '.join(self._values)}")

    def enabled(self, name: str) -> bool:
        self.check(name)
        return self._values[name]

    def snapshot(self) -> dict[str, bool]:
        return dict(self._values)

    def apply(self, values: Mapping[str, bool]) -> None:
        with self._lock:
            for name, value in values.items():
                if name in self._values:
                    self._values[name] = value
        self._export()

    def from_redis(self, raw: Mapping[str | bytes, str | bytes]) -> None:
        decoded = {(k.decode() if isinstance(k, bytes) else k): v for k, v in raw.items()}
        self.apply({n: decode(decoded.get(n), self._defaults[n]) for n in self._values})

    def _export(self) -> None:
        for name, value in self._values.items():
            FLAG_ENABLED.labels(flag=name).set(1 if value else 0)
