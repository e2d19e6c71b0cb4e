"""Every request traced vs head sampling: what telemetry itself costs per request.

Demonstrates: `GET /telemetry/books/{book_id}`, one cheap pooled read, the same code
either way. What the flag changes is the tracer's sampler, for every request of this
API process: off, every request is traced (ratio 1.0: its server span and statement
span are recorded, batched and exported); on, head sampling at the lab's default
ratio (`PERFLAB_TELEMETRY__TRACE_SAMPLE_RATIO`), so most requests carry a trace id
but record no span. `full_tracing` is what the sampler asks at every root span
(telemetry/tracing.py `LabSampler`), so a flip applies to the next request; it reads
the flag store of the app serving the request, which the tracing middleware binds
(`bind_request`) just before it starts the request's span.
Watch: API CPU per request (`perflab_process_cpu_seconds` rate / request rate) and the
route's p95. Expect CPU per request lower with the flag on by what a traced request
costs (see docs/telemetry.md); with tracing off (`PERFLAB_TELEMETRY__TRACING_ENABLED=
false`) the flag changes nothing.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Path, Response
from pydantic import BaseModel
from starlette.types import Scope

from perflab.api.deps import Flags, Res
from perflab.api.responses import NOT_FOUND
from perflab.api.techniques.base import Technique, run
from perflab.catalog import TECHNIQUES
from perflab.db.pool import acquire
from perflab.errors import NotFound
from perflab.flags.store import FlagStore

NAME = "telemetry_sampling"
BOOK_SQL = "SELECT id, title, price_cents FROM books WHERE id = $1"
_MAX_ID = 2**31 - 1
# The flag store of the app serving the current request.
_flags: ContextVar[FlagStore | None] = ContextVar("perflab_sampling_flags", default=None)


def bind_request(scope: Scope) -> None:
    """Before the request's span: the sampler will read this app's flag."""
    resources = getattr(scope["app"].state, "resources", None)
    _flags.set(resources.flags if resources is not None else None)


def full_tracing() -> bool:
    """Whether this root span is traced whatever the ratio: the flag is off (or there
    is no flag store yet, e.g. before the app's start-up)."""
    flags = _flags.get()
    return flags is None or not flags.enabled(NAME)


class BookPrice(BaseModel):
    id: int
    title: str
    price_cents: int


async def read_book(pool: asyncpg.Pool, book_id: int) -> BookPrice:
    """Both variants: the difference is in the sampler, not here."""
    async with acquire(pool) as conn:
        row = await conn.fetchrow(BOOK_SQL, book_id)
    if row is None:
        raise NotFound(f"book {book_id} not found")
    return BookPrice(id=row["id"], title=row["title"], price_cents=row["price_cents"])


router = APIRouter(tags=["techniques"])


@router.get("/telemetry/books/{book_id}", response_model=BookPrice, responses=NOT_FOUND)
async def get_book(
    res: Res,
    flags: Flags,
    response: Response,
    book_id: Annotated[int, Path(ge=1, le=_MAX_ID)],
) -> BookPrice:
    return await run(NAME, flags, read_book, read_book, response, res.pool, book_id)


TECHNIQUE = Technique(spec=TECHNIQUES[NAME], router=router)
