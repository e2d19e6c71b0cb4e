"""The pages Django would render as HTML are JSON like every other answer, and the
URLconf's handlers pass Django's own system checks (their signatures, urls.E007)."""

from __future__ import annotations

import json

from django.core import checks
from django.test import RequestFactory

from tests.support import django_app

django_app.setup()

from perflab.django_service import urls, views  # noqa: E402 - after django.setup()


def test_the_urlconf_names_json_error_handlers_that_pass_djangos_checks() -> None:
    assert urls.handler404 is views.not_found and urls.handler500 is views.server_error
    assert checks.run_checks(tags=[checks.Tags.urls]) == []


def test_a_server_error_is_json_and_says_where_to_look() -> None:
    answer = views.server_error(RequestFactory().get("/books"))
    assert answer.status_code == 500 and answer["Content-Type"] == "application/json"
    assert json.loads(answer.content) == {"error": "internal error; see the service log"}
