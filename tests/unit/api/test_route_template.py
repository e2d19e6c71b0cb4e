"""The metrics middleware labels a request with its route template; the first-segment
index must find exactly what a scan of every route finds."""

from __future__ import annotations

import re

from fastapi import APIRouter

from perflab.api.app import create_app
from perflab.api.middleware.metrics import MetricsMiddleware
from perflab.settings import Settings
from perflab.telemetry.metrics import UNMATCHED_ROUTE


def _app_routes() -> list:
    app = create_app(Settings())
    return [r for r in app.router.routes if hasattr(r, "path_format")]


def _example(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "7", template)


def test_every_route_of_the_app_is_labelled_with_its_own_template():
    routes = _app_routes()
    middleware = MetricsMiddleware(app=None, routes=routes)  # type: ignore[arg-type]
    assert middleware._by_segment is not None  # the index is in use
    templates = {r.path_format for r in routes}
    for template in templates:
        assert middleware.route_template({"path": _example(template)}) == template
    for path in ("/nope", "/books/x/y/z", "", "/"):
        expected = UNMATCHED_ROUTE if path not in templates else path
        assert middleware.route_template({"path": path}) == expected


def test_index_and_full_scan_agree_even_with_a_parameter_up_front():
    router = APIRouter()
    for path in ("/a/{x}", "/{anything}/b", "/a/c", "/"):
        router.add_api_route(path, lambda: None)
    middleware = MetricsMiddleware(app=None, routes=router.routes)  # type: ignore[arg-type]
    assert middleware._by_segment is None  # falls back to scanning in route order
    # First match in route order, as the router itself decides.
    assert middleware.route_template({"path": "/a/b"}) == "/a/{x}"
    assert middleware.route_template({"path": "/z/b"}) == "/{anything}/b"
    assert middleware.route_template({"path": "/"}) == "/"
    assert middleware.route_template({"path": "/z/q"}) == UNMATCHED_ROUTE
