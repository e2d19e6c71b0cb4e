"""gzip compression of a large JSON report (Flask-Compress) vs sending it raw.

Demonstrates: a sales report (one row per book: orders, units, revenue, last order)
of a few hundred KB. Both paths build the very same JSON; the optimised one hands the
response to Flask-Compress (`Compress.after_request`, registered for this request
only with `after_this_request`, since the app does not compress globally), which
gzips compressible bodies of at least 1 KB for clients sending
`Accept-Encoding: gzip` and adds `Vary: Accept-Encoding`.
Watch: `perflab_http_response_size_bytes{route="/reports/sales"}` (bytes on the wire,
measured outside the compression) and the route's p95 on a slow link (Techniques
dashboard). Expect ~6x fewer bytes per response for a few ms of CPU.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, after_this_request, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field
from sqlalchemy import text

from perflab.catalog import TECHNIQUES
from perflab.flask_service import validation
from perflab.flask_service.extensions import compress
from perflab.flask_service.resources import session
from perflab.flask_service.techniques.base import Technique, run
from perflab.sales_report import sales_report_sql

NAME = "gzip"

REPORT_SQL = text(sales_report_sql(":limit"))  # the API's report


class Report(BaseModel):
    limit: int = Field(default=2_000, ge=1, le=20_000)


def _report(limit: int) -> list[dict[str, Any]]:
    rows = session().execute(REPORT_SQL, {"limit": limit}).mappings()
    return [
        {
            **row,
            "last_order_at": row["last_order_at"].isoformat() if row["last_order_at"] else None,
        }
        for row in rows
    ]


def naive(limit: int) -> list[dict[str, Any]]:
    return _report(limit)


def optimised(limit: int) -> list[dict[str, Any]]:
    after_this_request(compress.after_request)  # compress this answer on its way out
    return _report(limit)


blueprint = Blueprint(NAME, __name__)


@blueprint.get("/reports/sales")
def sales_report() -> ResponseReturnValue:
    report = validation.query(Report)
    return jsonify(run(NAME, naive, optimised, report.limit))


TECHNIQUE = Technique(spec=TECHNIQUES[NAME], blueprint=blueprint)
