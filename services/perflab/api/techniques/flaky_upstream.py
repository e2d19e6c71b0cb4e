"""The resilience technique's upstream as the API's coroutines call it (`perflab/upstream.py`
has the simulation, its knob and the threaded services' client)."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from redis.exceptions import RedisError

from perflab.technique_metrics import UPSTREAM_CALLS
from perflab.upstream import KNOB_KEY, Dice, KnobCache, Stock, UpstreamFault

__all__ = ["FlakyUpstream"]


class FlakyUpstream:
    def __init__(self, redis: Redis, latency_seconds: float) -> None:
        self._redis = redis
        self._knob = KnobCache()
        self._dice = Dice(latency_seconds)

    async def fault(self) -> UpstreamFault:
        if self._knob.due():
            try:
                self._knob.read(await self._redis.get(KNOB_KEY))
            except (RedisError, OSError):
                self._knob.kept()
        return self._knob.fault

    async def set_fault(self, fault: UpstreamFault) -> None:
        await self._redis.set(KNOB_KEY, fault.model_dump_json())
        self._knob.set(fault)

    async def call(self, book_id: int, variant: str) -> Stock:
        fault = await self.fault()
        try:
            await asyncio.sleep(self._dice.seconds(fault))
        except asyncio.CancelledError:  # the caller's deadline passed
            UPSTREAM_CALLS.labels(variant=variant, outcome="timeout").inc()
            raise
        return self._dice.answer(fault, book_id, variant)
