"""The error answers of the API as OpenAPI documents them (FastAPI's `responses=`).

Every error body is `{"error": "..."}` (`api/errors.py`); a 503 also says which
`dependency` is down. Validation errors (422) keep FastAPI's own shape, which FastAPI
documents by itself. Routers and routes combine these dicts:
`responses={**NOT_FOUND, **WRITE}`; `complete` adds, to every route built without
them, the 503 of a store being down and the writes' 400/401/413, so a new route cannot
forget them (a test walks every write operation of the document).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.routing import BaseRoute

from perflab.api.middleware.admin import GUARDED_METHODS


class ErrorOut(BaseModel):
    error: str
    dependency: str | None = None  # 503 only: postgres, redis, celery broker...


Responses = dict[int | str, dict[str, Any]]


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


BAD_REQUEST: Responses = {400: _error("The request cannot be served as asked.")}
NOT_FOUND: Responses = {404: _error("What the path names does not exist.")}
CONFLICT: Responses = {409: _error("Another change of the same thing is still running.")}
UNAVAILABLE: Responses = {
    503: _error("A dependency is down; `dependency` names it (postgres, redis, ...).")
}
NOT_MODIFIED: Responses = {304: {"description": "Not Modified: the If-None-Match ETag matches."}}
# What every state-changing route can answer besides its own: the admin-token and
# body-limit middleware, and FastAPI's own 400 for undecodable bodies.
WRITE: Responses = {
    400: _error("The body cannot be parsed (undecodable bytes)."),
    401: _error("An admin token is configured and the request lacks it."),
    413: _error("The body is larger than PERFLAB_API__MAX_BODY_BYTES."),
}
SECURITY_SCHEME = "adminToken"
# The write routes' `openapi_extra`: the token, or nothing when none is configured.
ADMIN: dict[str, Any] = {"security": [{SECURITY_SCHEME: []}, {}]}


# The same answers by reference, for routes completed after they were built (FastAPI
# turns `model` into a schema only when a route is created).
_ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}


def _by_ref(answers: Responses) -> Responses:
    return {
        code: {"description": a["description"], "content": _ERROR_REF}
        for code, a in answers.items()
    }


def complete(routes: Sequence[BaseRoute], no_store: Sequence[BaseRoute] = ()) -> None:
    """Every route answers 503 when a store it needs is down (but the health probes,
    whose readyz documents its own 503), every route with a path parameter 404, and
    every write what the admin-token and body-limit middleware answer: routes that
    already declare one keep theirs."""
    for route in routes:
        if not isinstance(route, APIRoute):
            continue
        extra: Responses = {} if route in no_store else _by_ref(UNAVAILABLE)
        if "{" in route.path:
            # An id that names nothing, or a value its convertor refuses (`{id:int}`).
            extra |= _by_ref(NOT_FOUND)
        if (route.methods or set()) & GUARDED_METHODS:
            extra |= _by_ref(WRITE)
            route.openapi_extra = {**ADMIN, **(route.openapi_extra or {})}
        for code, answer in extra.items():
            route.responses.setdefault(code, answer)


def add_components(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {}).setdefault("ErrorOut", ErrorOut.model_json_schema())
    components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "PERFLAB_ADMIN_TOKEN: required on every write once one is configured.",
    }
    return schema
