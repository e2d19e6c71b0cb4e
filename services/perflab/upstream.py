"""The resilience technique's simulated stock upstream, its fault knob, and the policy
every service wraps it in.

Healthy, the upstream answers a book's stock after `PERFLAB_TECHNIQUES__UPSTREAM_LATENCY_SECONDS`
(50 ms), the same answer for the same book. The knob, set at runtime with the API's
`PUT /upstream/fault` (a write: the admin token guards it) and kept in Redis so every
process of every service shares it, makes it fail: `error_rate` of calls answer an
error, `spike_rate` of calls take `spike_seconds` instead. Each process reads the knob
at most once a second (the process that set it, at once). Every call that reaches the
upstream is counted in `perflab_upstream_calls_total{variant, outcome}`.

The API's client awaits (`api/techniques/flaky_upstream.py`); `ThreadedUpstream` is the
one Django's and Flask's worker threads call, and `ThreadedResilience` both of their
variants: no deadline and no retry, or a deadline per attempt (the client stops
waiting, as a socket timeout would), retries with backoff and jitter (tenacity) and a
circuit breaker (purgatory), the API's policy.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from purgatory import SyncCircuitBreakerFactory
from purgatory.domain.messages.events import ContextChanged
from purgatory.domain.model import OpenedState
from pydantic import BaseModel, ConfigDict, Field
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from perflab.errors import DependencyUnavailable
from perflab.settings import TechniqueSettings
from perflab.technique_metrics import (
    UPSTREAM_BREAKER_STATE,
    UPSTREAM_CALLS,
    UPSTREAM_REJECTED,
    UPSTREAM_RETRIES,
)

KNOB_KEY = "perflab:upstream:fault"
KNOB_TTL_SECONDS = 1.0
WAREHOUSES = ("Leipzig", "Lyon", "Porto", "Turin", "Utrecht")
CIRCUIT = "stock-upstream"
_STATE_VALUE = {"closed": 0, "half-opened": 1, "opened": 2}
UPSTREAM_BREAKER_STATE.set(0)


class UpstreamFault(BaseModel):
    # A misspelt knob must not quietly reset the upstream to healthy.
    model_config = ConfigDict(extra="forbid")

    error_rate: float = Field(default=0.0, ge=0, le=1, description="Share of calls that fail.")
    spike_rate: float = Field(default=0.0, ge=0, le=1, description="Share of slow calls.")
    spike_seconds: float = Field(default=2.0, ge=0, le=10, description="A slow call's time.")


class Stock(BaseModel):
    book_id: int
    in_stock: int
    warehouse: str
    ships_in_days: int


class UpstreamError(Exception):
    """The upstream answered an error."""


FAILURES = (UpstreamError, TimeoutError)


def stock_of(book_id: int) -> Stock:
    # What the upstream "answers": deterministic, so both variants can be compared.
    return Stock(
        book_id=book_id,
        in_stock=(book_id * 37) % 120,
        warehouse=WAREHOUSES[book_id % len(WAREHOUSES)],
        ships_in_days=1 + book_id % 4,
    )


class KnobCache:
    """The fault knob as this process last read it, and whether it is due a new read."""

    def __init__(self) -> None:
        self.fault = UpstreamFault()
        self._read_at = float("-inf")

    def due(self) -> bool:
        return time.monotonic() - self._read_at > KNOB_TTL_SECONDS

    def read(self, raw: bytes | str | None) -> None:
        self.fault = UpstreamFault.model_validate_json(raw) if raw else UpstreamFault()
        self._read_at = time.monotonic()

    def kept(self) -> None:
        """Redis is down: keep the last knob (that is not the upstream's fault)."""
        self._read_at = time.monotonic()

    def set(self, fault: UpstreamFault) -> None:
        self.fault, self._read_at = fault, time.monotonic()


class Dice:
    """One call's fate under a knob: how long it takes and whether it then fails."""

    def __init__(self, latency_seconds: float) -> None:
        self.latency = latency_seconds
        self._rng = random.Random()

    def seconds(self, fault: UpstreamFault) -> float:
        return fault.spike_seconds if self._rng.random() < fault.spike_rate else self.latency

    def answer(self, fault: UpstreamFault, book_id: int, variant: str) -> Stock:
        """After the wait: an error at the knob's rate, else the stock (counted either way)."""
        if self._rng.random() < fault.error_rate:
            UPSTREAM_CALLS.labels(variant=variant, outcome="error").inc()
            raise UpstreamError("the upstream answered 503 Service Unavailable")
        UPSTREAM_CALLS.labels(variant=variant, outcome="ok").inc()
        return stock_of(book_id)


def count_retry(_: RetryCallState) -> None:
    UPSTREAM_RETRIES.inc()


def retry_policy(knobs: TechniqueSettings) -> dict[str, Any]:
    """tenacity's arguments, for `Retrying` and `AsyncRetrying` alike."""
    return {
        "stop": stop_after_attempt(knobs.upstream_attempts),
        "wait": wait_exponential_jitter(multiplier=0.05, max=0.5, jitter=0.05),
        "retry": retry_if_exception_type(FAILURES),  # an open breaker is not retried
        "before_sleep": count_retry,
        "reraise": True,
    }


def on_breaker_event(_: str, event_type: str, event: object) -> None:
    """A purgatory listener: the breaker's state as a gauge."""
    if event_type == "state_changed" and isinstance(event, ContextChanged):
        UPSTREAM_BREAKER_STATE.set(_STATE_VALUE[event.state])


def attempts_failed(knobs: TechniqueSettings, exc: Exception) -> DependencyUnavailable:
    reason = str(exc) or f"no answer within {knobs.upstream_timeout_seconds} s"
    return DependencyUnavailable("upstream", f"{knobs.upstream_attempts} attempts failed: {reason}")


def refused_by_open_circuit(knobs: TechniqueSettings) -> DependencyUnavailable:
    """Counts the refusal (nothing was sent) and says when the next trial call comes."""
    UPSTREAM_REJECTED.inc()
    return DependencyUnavailable(
        "upstream",
        f"circuit open after {knobs.breaker_failures} consecutive failures: failing "
        f"fast, next trial call within {knobs.breaker_open_seconds:g} s",
    )


class ThreadedUpstream:
    """The upstream as a worker thread calls it (blocking), with an optional deadline."""

    def __init__(self, client: Callable[[], redis.Redis], latency_seconds: float) -> None:
        self._redis = client  # asked at each read: a forked worker gets its own client
        self._knob = KnobCache()
        self._dice = Dice(latency_seconds)
        self._lock = threading.Lock()  # one knob read per second, whichever thread is due

    def fault(self) -> UpstreamFault:
        if self._knob.due():
            with self._lock:
                if self._knob.due():
                    try:
                        self._knob.read(self._redis().get(KNOB_KEY))
                    except (redis.RedisError, OSError):
                        self._knob.kept()
        return self._knob.fault

    def call(self, book_id: int, variant: str, deadline: float | None = None) -> Stock:
        fault = self.fault()
        seconds = self._dice.seconds(fault)
        if deadline is not None and seconds > deadline:
            time.sleep(deadline)  # the client stops waiting, as a socket timeout would
            UPSTREAM_CALLS.labels(variant=variant, outcome="timeout").inc()
            raise TimeoutError
        time.sleep(seconds)
        return self._dice.answer(fault, book_id, variant)


class ThreadedResilience:
    """Both variants for a threaded service: `naive` calls as it comes; `optimised` gives
    each attempt a deadline, retries with backoff and jitter, behind a breaker that
    fails fast once open. Per process (each process judges the upstream itself)."""

    def __init__(self, client: Callable[[], redis.Redis], knobs: TechniqueSettings) -> None:
        self._knobs = knobs
        self.upstream = ThreadedUpstream(client, knobs.upstream_latency_seconds)
        self._breakers = SyncCircuitBreakerFactory(
            default_threshold=knobs.breaker_failures, default_ttl=knobs.breaker_open_seconds
        )
        self._breakers.add_listener(on_breaker_event)

    def naive(self, book_id: int) -> Stock:
        try:
            return self.upstream.call(book_id, "naive")
        except UpstreamError as exc:
            raise DependencyUnavailable("upstream", str(exc)) from exc

    def optimised(self, book_id: int) -> Stock:
        knobs, upstream = self._knobs, self.upstream
        breaker = self._breakers.get_breaker(CIRCUIT)
        try:
            for attempt in Retrying(**retry_policy(knobs)):
                with attempt, breaker:
                    return upstream.call(book_id, "optimised", knobs.upstream_timeout_seconds)
        except FAILURES as exc:
            raise attempts_failed(knobs, exc) from exc
        except OpenedState as exc:  # raised on entry while open: nothing was sent
            raise refused_by_open_circuit(knobs) from exc
        raise AssertionError("unreachable: tenacity either returned or raised")
