"""JSON log lines: one object per line, with the current trace and span ids."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from perflab.telemetry.logging import JsonFormatter, setup_logging


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("perflab.test.json")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_inside_a_span_carries_its_trace_and_span_ids(captured):
    logger, stream = captured
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        logger.info("order %s confirmed", 42, extra={"order_id": 42})
    (line,) = _lines(stream)
    context = span.get_span_context()
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")
    assert line["message"] == "order 42 confirmed"
    assert line["level"] == "INFO"
    assert line["logger"] == "perflab.test.json"
    assert line["order_id"] == 42
    assert line["time"].endswith("+00:00")


def test_outside_a_span_the_ids_are_null_and_exceptions_are_kept(captured):
    logger, stream = captured
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed", extra={"thing": object()})
    (line,) = _lines(stream)
    assert line["trace_id"] is None and line["span_id"] is None
    assert line["level"] == "ERROR"
    assert "ValueError: boom" in line["exc_info"]
    assert line["thing"].startswith("<object")  # not JSON: rendered with str()


def test_setup_logging_replaces_its_own_handler_and_silences_the_access_log():
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    first, second = io.StringIO(), io.StringIO()
    try:
        setup_logging("INFO", stream=first)
        setup_logging("WARNING", stream=second)  # a second call must not double lines
        logging.getLogger("perflab.test.setup").warning("once")
        logging.getLogger("uvicorn.error").warning("from uvicorn")
        logging.getLogger("uvicorn.access").warning("GET / 200")
        assert first.getvalue() == ""
        messages = [json.loads(line)["message"] for line in second.getvalue().splitlines()]
        assert messages == ["once", "from uvicorn"]
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
        root.setLevel(level)
        logging.getLogger("uvicorn.access").disabled = False
