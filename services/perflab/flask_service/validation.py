"""Request input checked with pydantic; a bad value is a 422 naming where it was.

The answer has FastAPI's shape, so a client (and `lab smoke`) reads every service's
422 the same way: `{"detail": [{"loc": ["query", "limit"], "msg": ..., "type": ...}]}`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeVar

from flask import request
from pydantic import BaseModel, TypeAdapter, ValidationError

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
Where = Literal["query", "path", "body"]
MAX_ID = 2**31 - 1


class InvalidRequest(Exception):
    """422: `errors` are pydantic's, each `loc` prefixed with where the value was."""

    status_code = 422

    def __init__(self, where: Where, errors: Sequence[Mapping[str, Any]]) -> None:
        super().__init__(f"invalid {where}")
        self.errors = [
            {
                "type": e["type"],
                "loc": [where, *e["loc"]],
                "msg": e["msg"],
                "input": e.get("input") if _plain(e.get("input")) else None,
            }
            for e in errors
        ]


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def query(model: type[M]) -> M:
    """The query string as `model` (pydantic's lax mode turns "50" into 50)."""
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise InvalidRequest("query", exc.errors(include_url=False)) from exc


def path_id(name: str, value: int, high: int = MAX_ID) -> int:
    """A path id within its column's range, Postgres' integer unless `high` says otherwise
    (the route converter already made it an int)."""
    if not 1 <= value <= high:
        raise InvalidRequest(
            "path",
            [
                {
                    "type": "value_error",
                    "loc": (name,),
                    "msg": f"must be between 1 and {high}",
                    "input": value,
                }
            ],
        )
    return value


def body(adapter: TypeAdapter[T]) -> T:
    """The JSON body as `adapter`'s type; not JSON at all is a 422 too."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # json recurses per level: thousands of `[` exhaust the stack
        raise InvalidRequest(
            "body", [{"type": "json_invalid", "loc": (), "msg": "body is nested too deeply"}]
        ) from None
    if data is None:
        raise InvalidRequest(
            "body", [{"type": "json_invalid", "loc": (), "msg": "expected a JSON body"}]
        )
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise InvalidRequest("body", exc.errors(include_url=False)) from exc
