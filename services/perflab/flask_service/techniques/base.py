"""What every Flask technique module provides, and how a request picks its variant.

A technique module defines `naive(...)` and `optimised(...)` with the same signature
and return type, a thin blueprint whose view calls `run(...)`, and `TECHNIQUE`: its
catalog entry (`perflab.catalog`) with the blueprint. `run` reads the flag from this
process's mirror of Redis, times the chosen variant into
`perflab_technique_duration_seconds{technique, variant}` and marks the answer with
`X-Technique-Variant` (added by `mark_variant` after the view).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ParamSpec, TypeVar

from flask import Blueprint, Response, g

from perflab.catalog import TechniqueSpec
from perflab.flask_service.resources import resources
from perflab.technique_metrics import observe_timers

P = ParamSpec("P")
T = TypeVar("T")

SERVICE = "flask"
VARIANT_HEADER = "X-Technique-Variant"


class Variant(StrEnum):
    NAIVE = "naive"
    OPTIMISED = "optimised"


@dataclass(frozen=True)
class Technique:
    """A technique as this service runs it: its catalog entry plus its views."""

    spec: TechniqueSpec
    blueprint: Blueprint
    # Its variants run through `run_cpu_bound`: their CPU time is recorded too.
    cpu_bound: bool = False

    @property
    def name(self) -> str:  # also the name of its flag
        return self.spec.name

    def describe(self) -> dict[str, Any]:
        return self.spec.describe(SERVICE)


def utc_iso(moment: datetime) -> str:
    """The API's timestamp format (orjson's `OPT_UTC_Z`): ISO 8601 in UTC, with "Z"."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def variant_of(name: str) -> Variant:
    return Variant.OPTIMISED if resources().flags.enabled(name) else Variant.NAIVE


def _chosen(name: str) -> Variant:
    variant = variant_of(name)
    g.technique_variant = variant
    return variant


def run(
    name: str,
    naive: Callable[P, T],
    optimised: Callable[P, T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    variant = _chosen(name)
    impl = optimised if variant is Variant.OPTIMISED else naive
    started = time.perf_counter()
    try:
        return impl(*args, **kwargs)
    finally:
        observe_timers(name, variant.value, started)


def run_cpu_bound(
    name: str,
    naive: Callable[P, T],
    optimised: Callable[P, T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """`run` for CPU-bound variants: the request thread's CPU clock measures the variant's
    own work (time the thread waits for the GIL or the core is not in it)."""
    variant = _chosen(name)
    impl = optimised if variant is Variant.OPTIMISED else naive
    started, cpu_started = time.perf_counter(), time.thread_time()
    try:
        return impl(*args, **kwargs)
    finally:
        observe_timers(name, variant.value, started, cpu_started)


async def run_async(
    name: str,
    naive: Callable[P, Awaitable[T]],
    optimised: Callable[P, Awaitable[T]],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """`run` for coroutine variants (async views)."""
    variant = _chosen(name)
    impl = optimised if variant is Variant.OPTIMISED else naive
    started = time.perf_counter()
    try:
        return await impl(*args, **kwargs)
    finally:
        observe_timers(name, variant.value, started)


def mark_variant(response: Response) -> Response:
    """after_request: say which variant answered."""
    variant = g.get("technique_variant")
    if variant is not None:
        response.headers[VARIANT_HEADER] = variant.value
    return response
