"""The admin token and the body limit, as in the FastAPI and Flask services
(docs/security.md).

With `PERFLAB_ADMIN_TOKEN` set, every state-changing request (POST, PUT, PATCH,
DELETE) needs `Authorization: Bearer <token>`: a 401 otherwise, before URL resolution
and before the body is read, so a request without the token learns nothing. Bodies
beyond `PERFLAB_API__MAX_BODY_BYTES` are Django's `DATA_UPLOAD_MAX_MEMORY_SIZE`
(settings.py), answered 413 by the telemetry middleware.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase, JsonResponse

from perflab.settings import get_settings

GUARDED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AdminTokenMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        token = get_settings().admin_token
        value = token.get_secret_value() if token is not None else ""
        self.expected = f"Bearer {value}".encode() if value else None

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if self.expected is not None and request.method in GUARDED_METHODS:
            given = (request.headers.get("Authorization") or "").encode()
            if not hmac.compare_digest(given, self.expected):
                message = f"{request.method} needs 'Authorization: Bearer <admin token>' "
                message += "(PERFLAB_ADMIN_TOKEN)"
                response = JsonResponse({"error": message}, status=401)
                response["WWW-Authenticate"] = "Bearer"
                return response
        return self.get_response(request)
