"""The in-process view of the flags, shared by the async and the threaded listeners.

Each process keeps the last state it saw, so a brief Redis outage changes nothing.
"""

from __future__ import annotations

import json
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
# Bumped by every flip: a process applies a flip or a snapshot only if it is not older
# than what it already holds, so a late pub/sub message cannot undo a newer flip.
REDIS_VERSION = "perflab:flags:version"
HISTORY_LIMIT = 1000


@dataclass(frozen=True)
class Flip:
    flag: str
    old: bool
    new: bool
    actor: str
    at: str  # ISO 8601, UTC

    @classmethod
    def from_entry(cls, raw: str | bytes) -> tuple[Flip, int]:
        """A history/pub-sub entry: the flip and the flag version it produced."""
        entry = json.loads(raw)
        version = int(entry.pop("version", 0))
        return cls(**entry), version


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
        self._version = 0
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

    @property
    def version(self) -> int:
        return self._version

    def apply(self, values: Mapping[str, bool], version: int, *, reset: bool = False) -> bool:
        """Apply flag values as of `version`; an older version is stale and ignored.

        `reset` accepts any version: Redis lost its data and counts from 0 again.
        Returns whether the values were applied.
        """
        with self._lock:
            if version < self._version and not reset:
                return False
            self._version = version
            for name, value in values.items():
                if name in self._values:
                    self._values[name] = value
        self._export()
        return True

    def from_redis(
        self, raw: Mapping[str | bytes, str | bytes], version: int, seen_before: int
    ) -> bool:
        """Apply a snapshot read at `version`; `seen_before` is our version when the read
        was sent. A snapshot older than that means Redis was reset (versions only grow
        while it keeps its data), so it wins; older only than a flip applied during the
        read means the read is stale."""
        decoded = {(k.decode() if isinstance(k, bytes) else k): v for k, v in raw.items()}
        values = {n: decode(decoded.get(n), self._defaults[n]) for n in self._values}
        return self.apply(values, version, reset=version < seen_before)

    def _export(self) -> None:
        for name, value in self._values.items():
            FLAG_ENABLED.labels(flag=name).set(1 if value else 0)
