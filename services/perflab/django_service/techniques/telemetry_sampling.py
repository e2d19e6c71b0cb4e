"""Every request traced vs head sampling: what telemetry itself costs per request.

Demonstrates: `GET /telemetry/books/{book_id}`, one cheap read through the ORM, the
same code either way. What the flag changes is the tracer's sampler, for every request
of the Django service: off, every request is traced (ratio 1.0: the server span of
`opentelemetry-instrumentation-django` and the statement span of
`opentelemetry-instrumentation-psycopg` are recorded, batched and exported); on, head
sampling at the lab's default ratio (`PERFLAB_TELEMETRY__TRACE_SAMPLE_RATIO`), so most
requests carry a trace id but record no span. The sampler asks `tracing.full_tracing`
at every root span, which reads this worker's flag mirror: a flip applies to the next
request.
Watch: the service's CPU per request (`perflab_process_cpu_seconds` rate / request
rate, service=django) and the route's p95. Expect CPU per request lower with the flag
on by what a traced request costs; with tracing off
(`PERFLAB_TELEMETRY__TRACING_ENABLED=false`) the flag changes nothing.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

from perflab.catalog import TECHNIQUES
from perflab.django_service.shop.models import Book
from perflab.django_service.techniques.base import Technique, check_id, json_answer, run
from perflab.errors import NotFound

NAME = "telemetry_sampling"


def read_book(book_id: int) -> dict[str, Any]:
    """Both variants: the difference is in the sampler, not here."""
    book = Book.objects.filter(id=book_id).values("id", "title", "price_cents").first()
    if book is None:
        raise NotFound(f"book {book_id} not found")
    return book


def naive(book_id: int) -> dict[str, Any]:
    """The same read; the sampler traced this request (flag off: ratio 1.0)."""
    return read_book(book_id)


def optimised(book_id: int) -> dict[str, Any]:
    """The same read; the sampler traced this request only by the ratio's draw."""
    return read_book(book_id)


@require_GET
def get_book(request: HttpRequest, book_id: int) -> JsonResponse:
    variant, book = run(NAME, naive, optimised, check_id(book_id, "book_id"))
    return json_answer(book, variant)


TECHNIQUE = Technique(TECHNIQUES[NAME], [path("telemetry/books/<int:book_id>", get_book)])
