"""Every request traced vs head sampling: what telemetry itself costs per request.

Demonstrates: `GET /telemetry/books/{book_id}`, one cheap read through SQLAlchemy, the
same code either way. What the flag changes is the tracer's sampler, for every request
of the Flask service: off, every request is traced (ratio 1.0: the server span of
`opentelemetry-instrumentation-flask` and the statement span of
`opentelemetry-instrumentation-sqlalchemy` are recorded, batched and exported); on,
head sampling at the lab's default ratio (`PERFLAB_TELEMETRY__TRACE_SAMPLE_RATIO`), so
most requests carry a trace id but record no span. The sampler asks the app's flag
mirror at every root span (`tracing.full_tracing_by`): a flip applies to the next
request.
Watch: the service's CPU per request (`perflab_process_cpu_seconds` rate / request
rate, service=flask) and the route's p95. Expect CPU per request lower with the flag
on by what a traced request costs; with tracing off
(`PERFLAB_TELEMETRY__TRACING_ENABLED=false`) the flag changes nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from perflab.catalog import TECHNIQUES
from perflab.errors import NotFound
from perflab.flask_service import validation
from perflab.flask_service.models import Book
from perflab.flask_service.resources import session
from perflab.flask_service.techniques.base import Technique, run

NAME = "telemetry_sampling"


def read_book(book_id: int) -> dict[str, Any]:
    """Both variants: the difference is in the sampler, not here."""
    query = select(Book.id, Book.title, Book.price_cents).where(Book.id == book_id)
    row = session().execute(query).mappings().one_or_none()
    if row is None:
        raise NotFound(f"book {book_id} not found")
    return dict(row)


def naive(book_id: int) -> dict[str, Any]:
    """The same read; the sampler traced this request (flag off: ratio 1.0)."""
    return read_book(book_id)


def optimised(book_id: int) -> dict[str, Any]:
    """The same read; the sampler traced this request only by the ratio's draw."""
    return read_book(book_id)


blueprint = Blueprint(NAME, __name__)


@blueprint.get("/telemetry/books/<int:book_id>")
def get_book(book_id: int) -> ResponseReturnValue:
    return jsonify(run(NAME, naive, optimised, validation.path_id("book_id", book_id)))


TECHNIQUE = Technique(spec=TECHNIQUES[NAME], blueprint=blueprint)
