"""A request whose Postgres connection was dropped still gives it back to the pool."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import text

from perflab.flask_service.resources import resources, session


def test_a_connection_postgres_dropped_is_given_back_at_teardown(flask_app: Flask):
    pooled = flask_app.extensions["perflab"].pooled
    checked_out = pooled.pool.checkedout()
    # The request context's exit runs the teardown; with the rollback's error escaping
    # it, gunicorn answered 500 and the connection never went back.
    with flask_app.test_request_context("/books/1"):
        pid = session().execute(text("SELECT pg_backend_pid()")).scalar_one()
        with resources().direct.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert pooled.pool.checkedout() == checked_out + 1
    assert pooled.pool.checkedout() == checked_out
    with flask_app.test_request_context("/books/1"):  # the pool serves a live one again
        assert session().execute(text("SELECT 1")).scalar_one() == 1
