"""What every technique module provides, and how a request picks its variant.

A technique module defines `naive(...)` and `optimised(...)` with the same signature
and return type, a thin `router` whose endpoint calls `run(...)`, and `TECHNIQUE`:
its catalog entry (`perflab.catalog`, which describes it for `/techniques`, the
flags, experiments, dashboards and load) with the router and any hooks. `run` reads
the flag of this process, times the chosen variant into
`perflab_technique_duration_seconds{technique, variant}` and tells the client which
variant answered (`X-Technique-Variant`).

`run_cpu_bound` is for variants that are plain functions (CPU work, no await): it also
records the thread's CPU time into `perflab_technique_cpu_seconds`. On a busy core a
sub-millisecond path is sometimes preempted for a scheduler slice of several
milliseconds; its wall time then says more about the scheduler than about the code,
its CPU time does not.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from fastapi import APIRouter, Response

from perflab.catalog import TechniqueSpec
from perflab.telemetry.metrics import TECHNIQUE_CPU, TECHNIQUE_DURATION

if TYPE_CHECKING:
    from perflab.api.resources import Resources
    from perflab.flags.store import FlagStore

P = ParamSpec("P")
T = TypeVar("T")
V = TypeVar("V")  # a variant function, plain or async

VARIANT_HEADER = "X-Technique-Variant"


class Variant(StrEnum):
    NAIVE = "naive"
    OPTIMISED = "optimised"


SERVICE = "fastapi"


@dataclass(frozen=True)
class Technique:
    """A technique as this service runs it: its catalog entry plus its routes and hooks."""

    spec: TechniqueSpec
    router: APIRouter
    # Runs in the process that accepted a flip (e.g. create / drop an index).
    on_flip: Callable[[bool, Resources], Awaitable[None]] | None = None
    # Runs in the background at startup, e.g. to make the index match the flag.
    on_start: Callable[[Resources], Coroutine[Any, Any, object]] | None = None
    # Its variants run through `run_cpu_bound`: their CPU time is recorded too.
    cpu_bound: bool = False

    @property
    def name(self) -> str:  # also the name of its flag
        return self.spec.name

    def describe(self) -> dict[str, Any]:
        return self.spec.describe(SERVICE)


_children: dict[tuple[Any, str, Variant], Any] = {}


def _child(family: Any, name: str, variant: Variant) -> Any:
    # Bound once per (family, technique, variant): `labels()` takes a lock and builds a key.
    child = _children.get((family, name, variant))
    if child is None:
        child = _children[(family, name, variant)] = family.labels(
            technique=name, variant=variant.value
        )
    return child


def variant_of(flags: FlagStore, name: str) -> Variant:
    return Variant.OPTIMISED if flags.enabled(name) else Variant.NAIVE


def _choose(
    name: str, flags: FlagStore, response: Response | None, naive: V, optimised: V
) -> tuple[Variant, V]:
    """The variant this process runs for `name`, marked on `response`, and its function."""
    variant = variant_of(flags, name)
    if response is not None:
        response.headers[VARIANT_HEADER] = variant.value
    return variant, optimised if variant is Variant.OPTIMISED else naive


async def run(
    name: str,
    flags: FlagStore,
    naive: Callable[P, Awaitable[T]],
    optimised: Callable[P, Awaitable[T]],
    response: Response | None,
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    variant, impl = _choose(name, flags, response, naive, optimised)
    started = time.perf_counter()
    try:
        return await impl(*args, **kwargs)
    finally:
        _child(TECHNIQUE_DURATION, name, variant).observe(time.perf_counter() - started)


def run_cpu_bound(
    name: str,
    flags: FlagStore,
    naive: Callable[P, T],
    optimised: Callable[P, T],
    response: Response | None,
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """`run` for variants that are plain functions: nothing else runs on this thread
    while one does, so the thread's CPU clock measures that variant's work alone."""
    variant, impl = _choose(name, flags, response, naive, optimised)
    started, cpu_started = time.perf_counter(), time.thread_time()
    try:
        return impl(*args, **kwargs)
    finally:
        _child(TECHNIQUE_CPU, name, variant).observe(time.thread_time() - cpu_started)
        _child(TECHNIQUE_DURATION, name, variant).observe(time.perf_counter() - started)
