"""What every Django technique module provides, and how a request picks its variant.

A module defines `naive(...)` and `optimised(...)` with the same signature and return
type, views that call `run(...)`, and `TECHNIQUE`: its catalog entry with its URL
patterns. `run` reads this process's flag, times the chosen variant into
`perflab_technique_duration_seconds{technique, variant}` and returns which variant
answered; `answer`/`json_answer` put it in `X-Technique-Variant`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ParamSpec, TypeVar

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.urls import URLPattern

from perflab.catalog import TechniqueSpec
from perflab.django_service import runtime
from perflab.errors import BadRequest
from perflab.technique_metrics import observe_timers
from perflab.text import storable

P = ParamSpec("P")
T = TypeVar("T")

SERVICE = "django"
VARIANT_HEADER = "X-Technique-Variant"
MAX_INT = 2**31 - 1
MAX_BIGINT = 2**63 - 1


class Variant(StrEnum):
    NAIVE = "naive"
    OPTIMISED = "optimised"


@dataclass(frozen=True)
class Technique:
    """A technique as this service runs it: its catalog entry plus its URL patterns."""

    spec: TechniqueSpec
    urlpatterns: Sequence[URLPattern]
    # Its variants run through `run_cpu_bound`: their CPU time is recorded too.
    cpu_bound: bool = False

    @property
    def name(self) -> str:  # also the name of its flag
        return self.spec.name

    def describe(self) -> dict[str, Any]:
        return self.spec.describe(SERVICE)


def variant_of(name: str) -> Variant:
    return Variant.OPTIMISED if runtime.enabled(name) else Variant.NAIVE


def run(
    name: str,
    naive: Callable[P, T],
    optimised: Callable[P, T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> tuple[Variant, T]:
    variant = variant_of(name)
    impl = optimised if variant is Variant.OPTIMISED else naive
    started = time.perf_counter()
    try:
        return variant, impl(*args, **kwargs)
    finally:
        observe_timers(name, variant.value, started)


def run_cpu_bound(
    name: str,
    naive: Callable[P, T],
    optimised: Callable[P, T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> tuple[Variant, T]:
    """`run` for CPU-bound variants: the request thread's CPU clock measures the variant's
    own work (time the thread waits for the GIL or the core is not in it)."""
    variant = variant_of(name)
    impl = optimised if variant is Variant.OPTIMISED else naive
    started, cpu_started = time.perf_counter(), time.thread_time()
    try:
        return variant, impl(*args, **kwargs)
    finally:
        observe_timers(name, variant.value, started, cpu_started)


def answer(response: HttpResponseBase, variant: Variant) -> HttpResponseBase:
    response[VARIANT_HEADER] = variant.value
    return response


def json_answer(data: Any, variant: Variant | None = None, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status, safe=False, encoder=DjangoJSONEncoder)
    if variant is not None:
        response[VARIANT_HEADER] = variant.value
    return response


def json_body(request: HttpRequest) -> Any:
    """The request body parsed as JSON (None when empty); 400 saying why it is not."""
    try:
        return json.loads(request.body or b"null")
    except ValueError as exc:
        raise BadRequest(f"body is not JSON: {exc}") from None
    except RecursionError:  # json recurses per level: thousands of `[` exhaust the stack
        raise BadRequest("body is nested too deeply") from None


def storable_text(value: str, what: str) -> str:
    """`value` if Postgres can store it; else 400 naming `what` (perflab.text)."""
    try:
        return storable(value)
    except ValueError as error:
        raise BadRequest(f"{what} {error}") from None


def int_param(request: HttpRequest, name: str, default: int, low: int, high: int) -> int:
    """A bounded integer query parameter; 400 naming it when it is not one."""
    raw = request.GET.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"query parameter {name!r} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"query parameter {name!r} must be between {low} and {high}")
    return value


def check_id(value: int, name: str, high: int = MAX_INT) -> int:
    """A path id in the column's range (the URL converter already made it a digit string)."""
    if not 1 <= value <= high:
        raise BadRequest(f"path parameter {name!r} must be between 1 and {high}")
    return value
