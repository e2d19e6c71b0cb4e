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
from perflab.sales_report import sales_report_sql

NAME = "gzip"
_REPORT_SQL = sales_report_sql("%s")  # the API's report


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
