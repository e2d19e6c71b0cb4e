"""What every technique module provides, and how a request picks its variant.

A technique module defines `naive(...)` and `optimised(...)` with the same signature
and return type, a thin `router` whose endpoint calls `run(...)`, and `TECHNIQUE`,
its description for `/techniques`. `run` reads the flag of this process, times the
chosen variant into `perflab_technique_duration_seconds{technique, variant}` and
tells the client which variant answered (`X-Technique-Variant`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from fastapi import APIRouter, Response

from perflab.telemetry.metrics import TECHNIQUE_DURATION

if TYPE_CHECKING:
    from perflab.api.resources import Resources
    from perflab.flags.store import FlagStore

P = ParamSpec("P")
T = TypeVar("T")

VARIANT_HEADER = "X-Technique-Variant"


class Variant(StrEnum):
    NAIVE = "naive"
    OPTIMISED = "optimised"


@dataclass(frozen=True)
class Technique:
    name: str  # also the name of its flag
    method: str
    path: str
    summary: str
    naive: str
    optimised: str
    metric: str  # the metric (and panel) that shows the difference
    expected: str  # the change a user should expect when the flag goes on
    router: APIRouter
    # Runs in the process that accepted a flip (e.g. create / drop an index).
    on_flip: Callable[[bool, Resources], Awaitable[None]] | None = None
    # Runs in the background at startup, e.g. to make the index match the flag.
    on_start: Callable[[Resources], Coroutine[Any, Any, object]] | None = None

    def describe(self) -> dict[str, str]:
        return {
            "name": self.name,
            "flag": self.name,
            "method": self.method,
            "path": self.path,
            "summary": self.summary,
            "naive": self.naive,
            "optimised": self.optimised,
            "metric": self.metric,
            "expected": self.expected,
        }


_durations: dict[tuple[str, Variant], Any] = {}


def _duration(name: str, variant: Variant) -> Any:
    # Bound once per (technique, variant): `labels()` takes a lock and builds a key.
    child = _durations.get((name, variant))
    if child is None:
        child = _durations[(name, variant)] = TECHNIQUE_DURATION.labels(
            technique=name, variant=variant.value
        )
    return child


def variant_of(flags: FlagStore, name: str) -> Variant:
    return Variant.OPTIMISED if flags.enabled(name) else Variant.NAIVE


async def run(
    name: str,
    flags: FlagStore,
    naive: Callable[P, Awaitable[T]],
    optimised: Callable[P, Awaitable[T]],
    response: Response | None,
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    variant = variant_of(flags, name)
    impl = optimised if variant is Variant.OPTIMISED else naive
    if response is not None:
        response.headers[VARIANT_HEADER] = variant.value
    started = time.perf_counter()
    try:
        return await impl(*args, **kwargs)
    finally:
        _duration(name, variant).observe(time.perf_counter() - started)
