"""The full middleware stack vs only what the endpoint needs.

Demonstrates: `GET /books/{book_id}/price`, a tiny JSON answer that needs no session,
user, CSRF check, messages or framing policy. The naive path runs it through Django's
default stack (what `startproject` writes) plus two extras a typical project picks up
(locale negotiation, broken-link mails): nine middleware, each run per request. The
optimised path runs the view bare: the service's own minimal stack (telemetry, static
files, gzip) is all it passes through. The stack is applied to this view alone, with
Django's `decorator_from_middleware` (each class's process_request / process_view /
process_response hooks, as the handler runs them), so flipping this flag changes no
other endpoint; every layer is counted in `perflab_middleware_calls_total`.
Watch: `perflab_middleware_calls_total` and the route's p50 (service=django). Expect
9 -> 0 middleware per request and a lower p50 (CPU only, no I/O is saved).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.urls import path
from django.utils.decorators import decorator_from_middleware
from django.utils.module_loading import import_string
from django.views.decorators.http import require_GET

from perflab.catalog import TECHNIQUES
from perflab.django_service.shop.models import Book
from perflab.django_service.techniques.base import (
    Technique,
    answer,
    check_id,
    json_answer,
    run,
)
from perflab.errors import NotFound
from perflab.technique_metrics import MIDDLEWARE_CALLS

NAME = "middleware_diet"
# Outermost first: Django's default MIDDLEWARE, with a typical project's two extras.
FULL_STACK = (
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.common.BrokenLinkEmailsMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)
View = Callable[..., HttpResponseBase]


def _price(request: HttpRequest, book_id: int) -> HttpResponseBase:
    book = Book.objects.filter(id=book_id).values("id", "price_cents").first()
    if book is None:
        raise NotFound(f"book {book_id} not found")
    return json_answer(book)


def _counted(name: str, view: View) -> View:
    def layer(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        MIDDLEWARE_CALLS.labels(middleware=name).inc()
        return view(request, *args, **kwargs)

    return layer


def through(stack: tuple[str, ...], view: View) -> View:
    """`view` wrapped by each middleware of `stack` (outermost first), each counted."""
    for dotted in reversed(stack):
        middleware = import_string(dotted)
        view = _counted(middleware.__name__, decorator_from_middleware(middleware)(view))
        MIDDLEWARE_CALLS.labels(middleware=middleware.__name__)  # series exist at start
    return view


_FULL = through(FULL_STACK, _price)


def naive(request: HttpRequest, book_id: int) -> HttpResponseBase:
    return _FULL(request, book_id)


def optimised(request: HttpRequest, book_id: int) -> HttpResponseBase:
    return _price(request, book_id)


@require_GET
def price(request: HttpRequest, book_id: int) -> HttpResponseBase:
    variant, response = run(NAME, naive, optimised, request, check_id(book_id, "book_id"))
    return answer(response, variant)


TECHNIQUE = Technique(TECHNIQUES[NAME], [path("books/<int:book_id>/price", price)])
