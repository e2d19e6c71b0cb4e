"""The admin token and the body limit, as in the FastAPI service (docs/security.md).

With `PERFLAB_ADMIN_TOKEN` set, every state-changing request (POST, PUT, PATCH,
DELETE) needs `Authorization: Bearer <token>`. `before_request` runs before the view
is dispatched (so before a 404 of an unknown path or id) and before the body is
parsed (Flask reads it lazily), so a request without the token learns nothing.
Bodies beyond `PERFLAB_API__MAX_BODY_BYTES` are refused with 413 by Werkzeug itself
(`MAX_CONTENT_LENGTH`), chunked ones included.
"""

from __future__ import annotations

import hmac

from flask import Flask, Response, jsonify, request

from perflab.settings import Settings

GUARDED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def install(app: Flask, settings: Settings) -> None:
    app.config["MAX_CONTENT_LENGTH"] = settings.api.max_body_bytes
    if settings.admin_token is None or not settings.admin_token.get_secret_value():
        return
    expected = f"Bearer {settings.admin_token.get_secret_value()}".encode()

    @app.before_request
    def _require_token() -> tuple[Response, int, dict[str, str]] | None:
        if request.method not in GUARDED_METHODS:
            return None
        given = (request.headers.get("Authorization") or "").encode()
        if hmac.compare_digest(given, expected):
            return None
        message = f"{request.method} needs 'Authorization: Bearer <admin token>' "
        message += "(PERFLAB_ADMIN_TOKEN)"
        return jsonify({"error": message}), 401, {"WWW-Authenticate": "Bearer"}
