"""Django's GZipMiddleware, run only while the `gzip` flag is on (per request).

Django compresses bodies of 200 bytes or more for clients that accept gzip, streams
chunk by chunk, and sets `Vary: Accept-Encoding`. Inside the telemetry middleware, so
the size metric counts the bytes that go on the wire.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase
from django.middleware.gzip import GZipMiddleware

from perflab.django_service import runtime

FLAG = "gzip"


class FlaggedGZipMiddleware(GZipMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if not runtime.enabled(FLAG):
            return response
        compressed: HttpResponseBase = super().process_response(request, response)
        return compressed
