"""gzip compression of a large JSON report vs sending it raw.

Demonstrates: a sales report (one row per book) of a few hundred KB. Both paths build
the very same JSON; what the flag switches is `middleware/gzip.py`, Django's own
`GZipMiddleware` run only while the flag is on (clients sending
`Accept-Encoding: gzip`). Repetitive JSON keys compress very well.
Watch: `perflab_http_response_size_bytes{route="/reports/sales"}` (bytes on the wire)
on the Cache and HTTP dashboard, service=django. Expect ~6x fewer bytes per response.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

from perflab.catalog import TECHNIQUES
from perflab.django_service.techniques.base import Technique, int_param, json_answer, run

NAME = "gzip"
# The API's report (api/techniques/gzip.py), with psycopg's placeholders.
_REPORT_SQL = """
WITH page AS (
    SELECT b.id, b.title, b.genre, a.name AS author
    FROM books b JOIN authors a ON a.id = b.author_id
    ORDER BY b.id LIMIT %s
), sales AS (
    SELECT o.book_id, count(*) AS orders, sum(o.quantity) AS units,
           sum(o.total_cents) AS revenue_cents,
           count(*) FILTER (WHERE o.status = 'cancelled') AS cancelled,
           max(o.created_at) AS last_order_at
    FROM orders o JOIN page p ON p.id = o.book_id
    GROUP BY o.book_id
)
SELECT p.id AS book_id, p.title, p.genre, p.author,
       coalesce(s.orders, 0) AS orders, coalesce(s.units, 0) AS units,
       coalesce(s.revenue_cents, 0) AS revenue_cents,
       coalesce(s.cancelled, 0) AS cancelled, s.last_order_at
FROM page p LEFT JOIN sales s ON s.book_id = p.id
ORDER BY p.id
"""


def _report(limit: int) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(_REPORT_SQL, [limit])
        columns = [c.name for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def naive(limit: int) -> list[dict[str, Any]]:
    return _report(limit)


def optimised(limit: int) -> list[dict[str, Any]]:
    # Same body: the compression happens on the way out, in FlaggedGZipMiddleware.
    return _report(limit)


@require_GET
def sales_report(request: HttpRequest) -> JsonResponse:
    limit = int_param(request, "limit", 2_000, 1, 20_000)
    variant, rows = run(NAME, naive, optimised, limit)
    return json_answer(rows, variant)


TECHNIQUE = Technique(TECHNIQUES[NAME], [path("reports/sales", sales_report)])
