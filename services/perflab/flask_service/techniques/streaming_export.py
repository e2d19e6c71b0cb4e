"""CSV export streamed from a server-side cursor vs built whole in memory.

Demonstrates: exporting every order as CSV. The naive path fetches all rows
(`.all()`), writes the whole file into a StringIO and answers with one body: memory
grows with the table. The optimised path executes the same query with
`yield_per(1000)`, which makes SQLAlchemy use a psycopg server-side cursor, and a
generator writes one batch of CSV at a time while the WSGI server sends it. The
generator owns its pooled connection, not the request's session (Flask ends the app
context, and with it the session, once the view returns, before the body is sent):
the cursor, its read transaction and the connection are released when the last byte
is out or the client goes away (the server closes the body). Same CSV bytes either way.
Watch: `perflab_process_resident_memory_bytes` (Runtime dashboard) while exporting and
`perflab_export_buffer_peak_bytes{variant}`, the largest CSV buffer held at once.
Expect peak memory two orders of magnitude lower at scale 1 and the first byte after
one batch. `perflab_technique_duration_seconds` here times only up to the first byte.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from flask import Blueprint, Response
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field
from sqlalchemy import Row, select

from perflab.catalog import TECHNIQUES
from perflab.flask_service import validation
from perflab.flask_service.models import Order
from perflab.flask_service.resources import pooled_connection, session
from perflab.flask_service.techniques.base import Technique, Variant, run
from perflab.technique_metrics import EXPORT_BUFFER_PEAK

NAME = "streaming_export"
MEDIA_TYPE = "text/csv; charset=utf-8"
BATCH_ROWS = 1000
COLUMNS = ("id", "user_id", "book_id", "quantity", "total_cents", "status", "created_at")
_HEADERS = {"Content-Disposition": 'attachment; filename="orders.csv"'}

for _variant in Variant:
    EXPORT_BUFFER_PEAK.labels(variant=_variant.value)


class Export(BaseModel):
    limit: int | None = Field(default=None, ge=1, le=100_000_000)


def _query(limit: int | None) -> Any:
    columns = [getattr(Order, name) for name in COLUMNS]
    return select(*columns).order_by(Order.id).limit(limit)  # limit None: every order


def _lines(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[Any, ...]]:
    for r in rows:
        yield (r[0], r[1], r[2], r[3], r[4], r[5], r[6].isoformat())


def naive(limit: int | None) -> Response:
    rows = session().execute(_query(limit)).all()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(_lines(rows))
    body = buffer.getvalue().encode()
    EXPORT_BUFFER_PEAK.labels(variant=Variant.NAIVE.value).observe(len(body))
    return Response(body, mimetype=MEDIA_TYPE, headers=_HEADERS)


def _chunks(batches: Iterable[Sequence[Row[Any]]], close: Any) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    peak = 0
    try:
        for batch in batches:
            writer.writerows(_lines(batch))
            chunk = buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            peak = max(peak, len(chunk))
            yield chunk
        if buffer.tell():  # no rows at all: just the header
            chunk = buffer.getvalue().encode()
            peak = max(peak, len(chunk))
            yield chunk
    finally:
        close()  # the server-side cursor, whichever way the stream ended
    EXPORT_BUFFER_PEAK.labels(variant=Variant.OPTIMISED.value).observe(peak)


def optimised(limit: int | None) -> Response:
    # Executed here, before the response starts: a dead Postgres is still a clean 503.
    conn = pooled_connection()
    try:
        result = conn.execute(_query(limit).execution_options(yield_per=BATCH_ROWS))
    except BaseException:
        conn.close()
        raise

    def close() -> None:
        result.close()
        conn.close()  # ends the read transaction, gives the connection back

    chunks = _chunks(result.partitions(), close)
    return Response(chunks, mimetype=MEDIA_TYPE, headers=_HEADERS)


blueprint = Blueprint(NAME, __name__)


@blueprint.get("/export/orders.csv")
def export_orders() -> ResponseReturnValue:
    return run(NAME, naive, optimised, validation.query(Export).limit)


TECHNIQUE = Technique(spec=TECHNIQUES[NAME], blueprint=blueprint)
