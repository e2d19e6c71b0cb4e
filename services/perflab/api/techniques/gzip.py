"""gzip compression of a large JSON report vs sending it raw.

Demonstrates: a sales report (one row per book: orders, units, revenue, last order)
of a few hundred KB. Both paths build the very same JSON; what the flag switches is
`api/middleware/gzip.py`, pure ASGI middleware that gzips compressible bodies of at
least 1 KB for clients sending `Accept-Encoding: gzip` (and says
`Vary: Accept-Encoding`). Repetitive JSON keys compress very well.
Watch: `perflab_http_response_size_bytes{route="/reports/sales"}` (bytes on the wire,
measured outside the compression) and the route's p95 on a slow link
(Techniques dashboard). Expect ~6.5x fewer bytes per response (372 KB -> 56 KB
for 2000 books at scale 1.0) for ~5 ms more CPU per response.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from perflab.api.deps import Flags, Pool
from perflab.api.techniques.base import Technique, run
from perflab.api.techniques.render import answer, render
from perflab.catalog import TECHNIQUES
from perflab.db.pool import acquire
from perflab.sales_report import sales_report_sql

NAME = "gzip"


class BookSales(BaseModel):
    book_id: int
    title: str
    genre: str
    author: str
    orders: int
    units: int
    revenue_cents: int
    cancelled: int
    last_order_at: datetime | None


_REPORT_SQL = sales_report_sql("$1")


async def _report(pool: Pool, limit: int) -> bytes:
    async with acquire(pool) as conn:
        rows = await conn.fetch(_REPORT_SQL, limit)
    # The query's columns are BookSales' fields: rendered once (render.py says why).
    return render([dict(row) for row in rows])


async def naive(pool: Pool, limit: int) -> bytes:
    return await _report(pool, limit)


async def optimised(pool: Pool, limit: int) -> bytes:
    # Same body: the compression happens on the way out, in GZipMiddleware.
    return await _report(pool, limit)


router = APIRouter(tags=["techniques"])


@router.get("/reports/sales", response_model=list[BookSales])  # the shape, for the schema
async def sales_report(
    pool: Pool,
    flags: Flags,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=20_000)] = 2_000,
) -> Response:
    return answer(await run(NAME, flags, naive, optimised, response, pool, limit), response)


TECHNIQUE = Technique(
    spec=TECHNIQUES[NAME],
    router=router,
)
