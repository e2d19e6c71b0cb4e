"""The Flask service's error answers: JSON like the other services, causes kept in the log."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from perflab.flask_service import errors


def _app() -> Flask:
    app = Flask(__name__)
    errors.install(app)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret detail of the failure")

    return app


def test_an_unexpected_error_is_a_json_500_that_keeps_its_cause_out_of_the_answer(
    caplog: pytest.LogCaptureFixture,
):
    with caplog.at_level(logging.ERROR):
        answer = _app().test_client().get("/boom")
    assert answer.status_code == 500
    assert answer.json == {"error": "internal error; see the service log"}
    assert "secret detail" in caplog.text  # Flask logs the exception itself


def test_an_unknown_route_names_method_and_path():
    answer = _app().test_client().get("/nope")
    assert answer.status_code == 404 and answer.json == {"error": "no route GET /nope"}
