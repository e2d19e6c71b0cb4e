"""Django routes become the API's label style, so one route is one label across services."""

from __future__ import annotations

import pytest

from perflab.django_service.middleware.telemetry import route_template
from tests.support import django_app

django_app.setup()


@pytest.mark.parametrize(
    ("route", "label"),
    [
        ("books", "/books"),
        ("books/<int:book_id>", "/books/{book_id}"),
        ("users/<int:user_id>/orders", "/users/{user_id}/orders"),
        ("tasks/<uuid:task_id>", "/tasks/{task_id}"),
        ("assets/<path:path>", "/assets/{path}"),
        ("books/<slug>/page", "/books/{slug}/page"),
    ],
)
def test_route_template(route: str, label: str) -> None:
    assert route_template(route) == label
