"""CSV export streamed from a server-side cursor vs built whole in memory.

Demonstrates: exporting every order as CSV. The naive path evaluates the queryset
(every row in memory), writes the whole file into a StringIO and answers with one
`HttpResponse`: memory grows with the table. The optimised path reads
`queryset.iterator(chunk_size=1000)` (a server-side cursor on Postgres) and yields the
CSV batch by batch through a `StreamingHttpResponse`; memory stays at one batch. Same
CSV bytes either way.
Watch: `perflab_export_buffer_peak_bytes{variant}` and resident memory (Runtime
dashboard, service=django). `perflab_technique_duration_seconds` here times only up to
the first byte.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.urls import path
from django.views.decorators.http import require_GET

from perflab.catalog import TECHNIQUES
from perflab.django_service.shop.models import Order
from perflab.django_service.techniques.base import Technique, Variant, answer, int_param, run
from perflab.technique_metrics import EXPORT_BUFFER_PEAK

NAME = "streaming_export"
CONTENT_TYPE = "text/csv; charset=utf-8"
BATCH_ROWS = 1000
COLUMNS = ("id", "user_id", "book_id", "quantity", "total_cents", "status", "created_at")
_DISPOSITION = 'attachment; filename="orders.csv"'

for _variant in Variant:
    EXPORT_BUFFER_PEAK.labels(variant=_variant.value)


def _rows(limit: int | None) -> Any:
    return Order.objects.order_by("id").values_list(*COLUMNS)[:limit]


def _line(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return (*row[:6], row[6].isoformat())


def naive(limit: int | None) -> HttpResponseBase:
    rows = list(_rows(limit))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(map(_line, rows))
    body = buffer.getvalue().encode()
    EXPORT_BUFFER_PEAK.labels(variant=Variant.NAIVE.value).observe(len(body))
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = _DISPOSITION
    return response


def _chunks(limit: int | None) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    peak = 0
    batch = 0
    for row in _rows(limit).iterator(chunk_size=BATCH_ROWS):
        writer.writerow(_line(row))
        batch += 1
        if batch == BATCH_ROWS:
            chunk = buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            peak, batch = max(peak, len(chunk)), 0
            yield chunk
    chunk = buffer.getvalue().encode()
    peak = max(peak, len(chunk))
    if chunk:
        yield chunk
    EXPORT_BUFFER_PEAK.labels(variant=Variant.OPTIMISED.value).observe(peak)


def optimised(limit: int | None) -> HttpResponseBase:
    response = StreamingHttpResponse(_chunks(limit), content_type=CONTENT_TYPE)
    response["Content-Disposition"] = _DISPOSITION
    return response


@require_GET
def export_orders(request: HttpRequest) -> HttpResponseBase:
    limit = int_param(request, "limit", 0, 1, 100_000_000) or None
    variant, response = run(NAME, naive, optimised, limit)
    return answer(response, variant)


TECHNIQUE = Technique(TECHNIQUES[NAME], [path("export/orders.csv", export_orders)])
