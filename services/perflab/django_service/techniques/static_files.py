"""CSS/JS served by WhiteNoise (hashed, compressed, immutable) vs Django's static view.

Demonstrates: `GET /storefront`, an HTML page linking a stylesheet and a script, the
same files either way. Naive: the page links `/assets/...`, served by
`django.views.static.serve` (fine for development, the docs say): full files, a
Last-Modified but no Cache-Control, so a browser revalidates every asset on every
page view (a round trip each, 304 at best). Optimised: the page links `{% static %}`
names, which `CompressedManifestStaticFilesStorage` made content-hashed at
`collectstatic`; WhiteNoise serves them pre-compressed (gzip/brotli) with
`Cache-Control: max-age=315360000, public, immutable`, so a browser never asks again
until the content (and so the name) changes.
Watch: asset requests per second by route and status (Techniques dashboard, row
static_files, service=django) and bytes sent: a repeat view makes 2 requests naive
(two 304s), none optimised.
"""

from __future__ import annotations

from pathlib import Path

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template import engines
from django.templatetags.static import static
from django.urls import path
from django.views.decorators.http import require_GET
from django.views.static import serve

from perflab.catalog import TECHNIQUES
from perflab.django_service.techniques.base import Technique, answer, run

NAME = "static_files"
TEMPLATE = "shop/storefront.html"
ASSETS = ("shop/storefront.css", "shop/storefront.js")
ASSETS_PREFIX = "/assets/"
SOURCE = Path(__file__).resolve().parents[1] / "shop" / "static"


def _page(request: HttpRequest, css: str, js: str) -> HttpResponseBase:
    html = engines["cached"].get_template(TEMPLATE).render({"css": css, "js": js}, request)
    return HttpResponse(html)


def naive(request: HttpRequest) -> HttpResponseBase:
    css, js = (f"{ASSETS_PREFIX}{name}" for name in ASSETS)
    return _page(request, css, js)


def optimised(request: HttpRequest) -> HttpResponseBase:
    css, js = (static(name) for name in ASSETS)
    return _page(request, css, js)


@require_GET
def storefront(request: HttpRequest) -> HttpResponseBase:
    variant, response = run(NAME, naive, optimised, request)
    return answer(response, variant)


@require_GET
def asset(request: HttpRequest, path: str) -> HttpResponseBase:
    """Django's development static view, on the app's source files (the naive side)."""
    return serve(request, path, document_root=str(SOURCE))


TECHNIQUE = Technique(
    TECHNIQUES[NAME],
    [path("storefront", storefront), path("assets/<path:path>", asset)],
)
