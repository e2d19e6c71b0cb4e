"""gzip (Django): the same report both ways; Django's GZipMiddleware only while the flag
is on, and the bytes on the wire (counted by the client and by the service) drop."""

from __future__ import annotations

import gzip

import httpx
import pytest

pytestmark = pytest.mark.integration


def _report(client: httpx.Client, variant: str) -> tuple[httpx.Response, bytes]:
    with client.stream(
        "GET", "/reports/sales", params={"limit": 500}, headers={"Accept-Encoding": "gzip"}
    ) as answer:
        raw = b"".join(answer.iter_raw())
    assert answer.status_code == 200
    assert answer.headers["X-Technique-Variant"] == variant
    return answer, raw


def test_same_report_far_fewer_bytes_when_on(django: httpx.Client, set_flag):
    set_flag("gzip", False)
    naive, naive_raw = _report(django, "naive")
    set_flag("gzip", True)
    optimised, optimised_raw = _report(django, "optimised")
    assert "content-encoding" not in naive.headers
    assert optimised.headers["content-encoding"] == "gzip"
    assert gzip.decompress(optimised_raw) == naive_raw
    assert len(optimised_raw) * 4 < len(naive_raw)
    # A client that does not accept gzip still gets the plain body.
    plain = django.get("/reports/sales", params={"limit": 500}, headers={"Accept-Encoding": ""})
    assert "content-encoding" not in plain.headers and plain.content == naive_raw
