"""The running stack an experiment drives: readiness, techniques, and the flags it flips.

The flags the run touches, and the upstream's faults when the technique is measured
under one, are restored when it ends, fails or is interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import httpx

from perflab.experiment.scrape import FRESH_CONNECTIONS


class ExperimentError(RuntimeError):
    """The experiment cannot run (stack unhealthy, unknown flag); the message says why."""


class FlagGuard:
    """Sets flags (and the upstream's faults) through the API and puts back what it touched."""

    def __init__(self, api: str, token: str | None) -> None:
        headers = {"X-Perflab-Actor": "experiment"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        # A flip waits for its technique's own work (db_index builds an index).
        self.client = httpx.Client(
            base_url=api, headers=headers, timeout=120, limits=FRESH_CONNECTIONS
        )
        self.original: dict[str, bool] = {}
        self.state: dict[str, bool] = {}
        self.fault_before: dict[str, Any] | None = None

    def current(self) -> dict[str, bool]:
        answer = self.client.get("/flags")
        answer.raise_for_status()
        return {f["name"]: f["enabled"] for f in answer.json()["flags"]}

    def set(self, name: str, enabled: bool) -> bool:
        """Turn the flag on or off; False when it already was (nothing flipped)."""
        if name not in self.original:
            self.original[name] = self.state[name] = self.current()[name]
        if self.state[name] == enabled:
            return False
        self._write(f"/flags/{name}", {"enabled": enabled})
        self.state[name] = enabled
        return True

    def set_upstream_fault(self, fault: dict[str, Any]) -> None:
        """Make the simulated upstream fail as `fault` says (`PUT /upstream/fault`)."""
        if self.fault_before is None:
            answer = self.client.get("/upstream/fault")
            answer.raise_for_status()
            self.fault_before = answer.json()
        self._write("/upstream/fault", fault)

    def restore(self) -> None:
        try:
            for name, enabled in self.original.items():
                if self.state.get(name) != enabled:
                    self._write(f"/flags/{name}", {"enabled": enabled})
        finally:
            # A flag that could not be put back must not leave the upstream failing too.
            self.original.clear()
            self.state.clear()
            if self.fault_before is not None:
                fault, self.fault_before = self.fault_before, None
                self._write("/upstream/fault", fault)

    def _write(self, path: str, body: dict[str, Any]) -> None:
        answer = self.client.put(path, json=body)
        if answer.status_code == 401:
            raise ExperimentError("the API needs an admin token: set PERFLAB_ADMIN_TOKEN")
        answer.raise_for_status()

    def close(self) -> None:
        self.client.close()


@contextmanager
def interrupts_raise() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C, so both reach the `finally` that restores flags."""

    def raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def check_api(api: str) -> None:
    try:
        ready = httpx.get(f"{api}/readyz", timeout=5)
    except httpx.HTTPError as exc:
        raise ExperimentError(
            f"the API at {api} is not reachable ({exc}); run ./scripts/lab up"
        ) from exc
    if ready.status_code != 200:
        raise ExperimentError(f"the API is not ready: {ready.text}")


def techniques(api: str) -> dict[str, dict[str, Any]]:
    answer = httpx.get(f"{api}/techniques", timeout=10)
    answer.raise_for_status()
    return {t["name"]: t for t in answer.json()["techniques"]}
