"""The cached template loader vs reading and compiling templates on every render.

Demonstrates: `GET /books/shelf`, an HTML shelf of books: a page template extending a
base (with a site's navigation and footer partials), a header and one row template
included per book: six templates, a few hundred tags. Two template engines are
configured (settings.TEMPLATES), the same files behind each: `uncached` lists the
filesystem loader alone, so every render reads and compiles each template again;
`cached` wraps it in `django.template.loaders.cached.Loader`, which compiles each
template once per process (Django's default when DEBUG is off; a project that lists
its own `loaders` loses it unless it says so). The flag picks the engine per request.
Watch: `perflab_template_loads_total{engine}` and CPU per process (service=django):
~6 template files read per page uncached, none once cached.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template import engines
from django.urls import path
from django.views.decorators.http import require_GET

from perflab.catalog import TECHNIQUES
from perflab.django_service.shop.models import Book
from perflab.django_service.techniques.base import Technique, answer, int_param, run

NAME = "cached_templates"
TEMPLATE = "shop/shelf.html"


def _shelf(engine: str, request: HttpRequest, limit: int) -> HttpResponseBase:
    books = Book.objects.select_related("author").order_by("id")[:limit]
    html = engines[engine].get_template(TEMPLATE).render({"books": books}, request)
    return HttpResponse(html)


def naive(request: HttpRequest, limit: int) -> HttpResponseBase:
    return _shelf("uncached", request, limit)


def optimised(request: HttpRequest, limit: int) -> HttpResponseBase:
    return _shelf("cached", request, limit)


@require_GET
def shelf(request: HttpRequest) -> HttpResponseBase:
    limit = int_param(request, "limit", 50, 1, 200)
    variant, response = run(NAME, naive, optimised, request, limit)
    return answer(response, variant)


TECHNIQUE = Technique(TECHNIQUES[NAME], [path("books/shelf", shelf)])
