"""The resilience technique's upstream: a simulated stock service with a fault knob.

Healthy, it answers a book's stock after `PERFLAB_TECHNIQUES__UPSTREAM_LATENCY_SECONDS`
(50 ms), the same answer for the same book. The knob, set at runtime with
`PUT /upstream/fault` (a write: the admin token guards it) and kept in Redis so every
API process shares it, makes it fail: `error_rate` of calls answer an error,
`spike_rate` of calls take `spike_seconds` instead. Each process reads the knob at
most once a second (the process that set it, at once). Every call that reaches it is
counted in `perflab_upstream_calls_total{variant, outcome}`.
"""

from __future__ import annotations

import asyncio
import random
import time

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis
from redis.exceptions import RedisError

from perflab.technique_metrics import UPSTREAM_CALLS

KNOB_KEY = "perflab:upstream:fault"
KNOB_TTL_SECONDS = 1.0
WAREHOUSES = ("Leipzig", "Lyon", "Porto", "Turin", "Utrecht")


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


def stock_of(book_id: int) -> Stock:
    # What the upstream "answers": deterministic, so both variants can be compared.
    return Stock(
        book_id=book_id,
        in_stock=(book_id * 37) % 120,
        warehouse=WAREHOUSES[book_id % len(WAREHOUSES)],
        ships_in_days=1 + book_id % 4,
    )


class FlakyUpstream:
    def __init__(self, redis: Redis, latency_seconds: float) -> None:
        self._redis = redis
        self._latency = latency_seconds
        self._fault = UpstreamFault()
        self._read_at = float("-inf")
        self._rng = random.Random()

    async def fault(self) -> UpstreamFault:
        if time.monotonic() - self._read_at > KNOB_TTL_SECONDS:
            try:
                raw = await self._redis.get(KNOB_KEY)
            except (RedisError, OSError):
                raw = None  # keep the last knob: Redis being down is not the upstream's fault
            else:
                self._fault = UpstreamFault.model_validate_json(raw) if raw else UpstreamFault()
            self._read_at = time.monotonic()
        return self._fault

    async def set_fault(self, fault: UpstreamFault) -> None:
        await self._redis.set(KNOB_KEY, fault.model_dump_json())
        self._fault, self._read_at = fault, time.monotonic()

    async def call(self, book_id: int, variant: str) -> Stock:
        fault = await self.fault()
        slow = self._rng.random() < fault.spike_rate
        try:
            await asyncio.sleep(fault.spike_seconds if slow else self._latency)
        except asyncio.CancelledError:  # the caller's deadline passed
            UPSTREAM_CALLS.labels(variant=variant, outcome="timeout").inc()
            raise
        if self._rng.random() < fault.error_rate:
            UPSTREAM_CALLS.labels(variant=variant, outcome="error").inc()
            raise UpstreamError("the upstream answered 503 Service Unavailable")
        UPSTREAM_CALLS.labels(variant=variant, outcome="ok").inc()
        return stock_of(book_id)
