"""CSV export streamed from a server-side cursor vs built whole in memory.

Demonstrates: exporting every order as CSV. The naive path fetches all rows, writes
the whole file into a StringIO and answers with one body: memory grows with the
table (rows + text + bytes all alive at once). The optimised path opens a cursor in a
read-only transaction and streams batches of 1000 rows through a StreamingResponse;
memory stays at one batch whatever the table size. The pooled connection is held only
while streaming and is released however the stream ends (done, error, or the client
going away). Same CSV bytes either way. Cursor fetches are no connection method (see
db/querylog.py), so each batch is counted with `querylog.Statement` (more round trips, by design).
Watch: `perflab_process_resident_memory_bytes` (Runtime dashboard) while exporting and
`perflab_export_buffer_peak_bytes{variant}`, a cheap proxy that records the largest CSV
buffer held at once (the whole file vs one batch; the real peak also holds the rows).
Expect peak memory ~200x lower for the 500k orders of scale 1.0 (236 MB -> 1.2 MB
traced) and the first byte after one batch instead of after the whole file.
`perflab_technique_duration_seconds` here times only up to the first byte.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack
from typing import Annotated, Any

import anyio
import asyncpg
from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from perflab.api.deps import Flags, Pool
from perflab.api.techniques.base import VARIANT_HEADER, Technique, Variant, run
from perflab.catalog import TECHNIQUES
from perflab.db import querylog
from perflab.db.pool import acquire
from perflab.technique_metrics import EXPORT_BUFFER_PEAK

NAME = "streaming_export"
MEDIA_TYPE = "text/csv; charset=utf-8"
BATCH_ROWS = 1000
COLUMNS = ("id", "user_id", "book_id", "quantity", "total_cents", "status", "created_at")
_HEADERS = {"Content-Disposition": 'attachment; filename="orders.csv"'}
# LIMIT NULL is LIMIT ALL: no limit exports every order.
_EXPORT_SQL = f"SELECT {', '.join(COLUMNS)} FROM orders ORDER BY id LIMIT $1"
_FETCH = f"FETCH {BATCH_ROWS} (orders export cursor)"

for _variant in Variant:
    EXPORT_BUFFER_PEAK.labels(variant=_variant.value)


def _line(row: asyncpg.Record) -> tuple[Any, ...]:
    return (row[0], row[1], row[2], row[3], row[4], row[5], row[6].isoformat())


async def naive(pool: Pool, limit: int | None) -> Response:
    async with acquire(pool) as conn:
        rows = await conn.fetch(_EXPORT_SQL, limit)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(map(_line, rows))
    body = buffer.getvalue().encode()
    EXPORT_BUFFER_PEAK.labels(variant=Variant.NAIVE.value).observe(len(body))
    return Response(body, media_type=MEDIA_TYPE, headers=_HEADERS)


class _CursorExport:
    """A cursor in a read-only transaction on a pooled connection, read in batches."""

    def __init__(self, stack: AsyncExitStack, cursor: asyncpg.cursor.Cursor) -> None:
        self._stack = stack
        self._cursor = cursor

    @classmethod
    async def open(cls, pool: Pool, limit: int | None) -> _CursorExport:
        # Opened before the response starts, so a dead Postgres is still a clean 503.
        stack = AsyncExitStack()
        try:
            conn = await stack.enter_async_context(acquire(pool))
            await stack.enter_async_context(conn.transaction(readonly=True))
            with querylog.Statement(_EXPORT_SQL):
                cursor = await conn.cursor(_EXPORT_SQL, limit)
        except BaseException:
            await stack.aclose()
            raise
        return cls(stack, cursor)

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(COLUMNS)
        peak = 0
        while True:
            with querylog.Statement(_FETCH):
                rows = await self._cursor.fetch(BATCH_ROWS)
            writer.writerows(map(_line, rows))
            chunk = buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            peak = max(peak, len(chunk))
            if chunk:
                yield chunk
            if len(rows) < BATCH_ROWS:
                break
        EXPORT_BUFFER_PEAK.labels(variant=Variant.OPTIMISED.value).observe(peak)

    async def close(self) -> None:
        await self._stack.aclose()  # ends the transaction, releases the connection


class _ExportResponse(StreamingResponse):
    def __init__(self, export: _CursorExport) -> None:
        self._export = export
        self._chunks = export.chunks()
        super().__init__(self._chunks, media_type=MEDIA_TYPE, headers=_HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Shielded: even a cancelled request ends the transaction and frees the conn.
            with anyio.CancelScope(shield=True):
                await self._chunks.aclose()
                await self._export.close()


async def optimised(pool: Pool, limit: int | None) -> Response:
    return _ExportResponse(await _CursorExport.open(pool, limit))


router = APIRouter(tags=["techniques"])


@router.get("/export/orders.csv")
async def export_orders(
    pool: Pool,
    flags: Flags,
    limit: Annotated[int | None, Query(ge=1, le=100_000_000)] = None,
) -> Response:
    # run() marks the variant on `tag`; the Response we return is built by the variant.
    tag = Response()
    answer = await run(NAME, flags, naive, optimised, tag, pool, limit)
    answer.headers[VARIANT_HEADER] = tag.headers[VARIANT_HEADER]
    return answer


TECHNIQUE = Technique(
    spec=TECHNIQUES[NAME],
    router=router,
)
