"""The error answers of the API as OpenAPI documents them (FastAPI's `responses=`).

Every error body is `{"error": "..."}` (`api/errors.py`); a 503 also says which
`dependency` is down. Validation errors (422) keep FastAPI's own shape, which FastAPI
documents by itself. Routers and routes combine these dicts:
`responses={**NOT_FOUND, **WRITE}`. Every state-changing route declares `WRITE`
(a test checks that none forgets it).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


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


def add_security_scheme(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "PERFLAB_ADMIN_TOKEN: required on every write once one is configured.",
    }
    return schema
