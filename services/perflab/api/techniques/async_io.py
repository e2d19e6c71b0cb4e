"""An I/O wait done with `await` vs a blocking call inside `async def`.

Demonstrates: a price quote from a slow upstream (a stand-in for a blocking SDK or
HTTP client; latency `PERFLAB_TECHNIQUES__UPSTREAM_LATENCY_SECONDS`, 50 ms). The naive
path waits with `time.sleep` inside the coroutine: the whole event loop stops, so
every other request of the process (health checks included) waits too and K
concurrent quotes take K x latency. The optimised path awaits `asyncio.sleep`: the loop
serves others meanwhile and K quotes overlap. Same quote either way.
Watch: `perflab_event_loop_lag_seconds` (Runtime dashboard) and
`perflab_upstream_calls_in_progress` (never above 1 per process when blocked).
Expect loop lag from ~latency x concurrent requests down to ~0, and throughput of one
process from ~1/latency (20 req/s) to many times that.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from perflab.api.deps import Flags, Res
from perflab.api.resources import Resources
from perflab.api.responses import NOT_FOUND
from perflab.api.techniques.base import Technique, run
from perflab.catalog import TECHNIQUES
from perflab.db.pool import acquire
from perflab.errors import NotFound
from perflab.technique_metrics import UPSTREAM_IN_PROGRESS

NAME = "async_io"
CURRENCY = "EUR"


class Quote(BaseModel):
    book_id: int
    quantity: int
    unit_price_cents: int
    shipping_cents: int
    total_cents: int
    currency: str


async def _unit_price(res: Resources, book_id: int) -> int:
    async with acquire(res.pool) as conn:
        price: int | None = await conn.fetchval(
            "SELECT price_cents FROM books WHERE id = $1", book_id
        )
    if price is None:
        raise NotFound(f"book {book_id} not found")
    return price


def _quote(book_id: int, quantity: int, unit_price: int) -> Quote:
    # What the upstream "answers": deterministic, so both variants can be compared.
    shipping = 299 + 50 * (book_id % 7) * quantity
    return Quote(
        book_id=book_id,
        quantity=quantity,
        unit_price_cents=unit_price,
        shipping_cents=shipping,
        total_cents=unit_price * quantity + shipping,
        currency=CURRENCY,
    )


async def naive(res: Resources, book_id: int, quantity: int) -> Quote:
    unit_price = await _unit_price(res, book_id)
    with UPSTREAM_IN_PROGRESS.track_inprogress():
        # Deliberately blocking: this stalls the event loop for the whole wait. It is
        # the mistake the technique demonstrates; never do this outside this path.
        time.sleep(res.settings.techniques.upstream_latency_seconds)  # noqa: ASYNC251
    return _quote(book_id, quantity, unit_price)


async def optimised(res: Resources, book_id: int, quantity: int) -> Quote:
    unit_price = await _unit_price(res, book_id)
    with UPSTREAM_IN_PROGRESS.track_inprogress():
        await asyncio.sleep(res.settings.techniques.upstream_latency_seconds)
    return _quote(book_id, quantity, unit_price)


router = APIRouter(tags=["techniques"])


@router.get("/upstream/quote", response_model=Quote, responses=NOT_FOUND)
async def upstream_quote(
    res: Res,
    flags: Flags,
    response: Response,
    book_id: Annotated[int, Query(ge=1, le=2**31 - 1)],
    quantity: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> Quote:
    return await run(NAME, flags, naive, optimised, response, res, book_id, quantity)


TECHNIQUE = Technique(
    spec=TECHNIQUES[NAME],
    router=router,
)
