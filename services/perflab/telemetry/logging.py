"""Structured logs: one JSON object per line, with the current trace and span ids.

Every line has `time` (UTC, ISO 8601), `level`, `logger`, `message`, `trace_id` and
`span_id` (null outside a span), then any `extra={...}` fields and `exc_info`.
A log line can thus be joined to its trace, and a trace to its exemplar.
uvicorn's own loggers go through the same handler; its access log is off (the RED
metrics and the server spans already describe every request, for less cost).
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
from opentelemetry import trace

# Attributes every LogRecord has; anything else on a record came from `extra=`
# (but uvicorn's ANSI-coloured copy of its message is noise in a JSON line).
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {
    "message", "asctime", "taskName", "color_message",
}  # fmt: skip
_UVICORN = ("uvicorn", "uvicorn.error")
_ACCESS = "uvicorn.access"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        context = trace.get_current_span().get_span_context()
        valid = context.is_valid
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "trace_id": format(context.trace_id, "032x") if valid else None,
            "span_id": format(context.span_id, "016x") if valid else None,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return orjson.dumps(line, default=str).decode()


class _JsonHandler(logging.StreamHandler):
    """Marks the handler this module installed, so a second setup replaces it."""


def setup_logging(level: str | int = "INFO", *, stream: TextIO | None = None) -> None:
    """JSON logs on stderr for this process (API worker or Celery process)."""
    handler = _JsonHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _JsonHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for name in _UVICORN:
        # uvicorn installed plain-text handlers before the app was imported.
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    access = logging.getLogger(_ACCESS)
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
