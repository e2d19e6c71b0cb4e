"""gzip (Flask-Compress): the same JSON both ways; far fewer bytes when compressed.

Counts: the bytes of the body on the wire (what the test client receives, which is
what the WSGI middleware measures too) and `perflab_http_response_size_bytes`.
"""

from __future__ import annotations

import gzip
import json

import pytest
from flask.testing import FlaskClient
from prometheus_client import REGISTRY

pytestmark = pytest.mark.integration

LABELS = {"route": "/reports/sales", "method": "GET"}


def _size_sum() -> float:
    return REGISTRY.get_sample_value("perflab_http_response_size_bytes_sum", LABELS) or 0.0


def _report(client: FlaskClient, variant: str, encoding: str = "gzip") -> tuple[bytes, dict]:
    before = _size_sum()
    answer = client.get("/reports/sales", headers={"Accept-Encoding": encoding})
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    wire = answer.get_data()
    answer.close()  # the end of the WSGI response, where the middleware records it
    assert _size_sum() - before == len(wire)  # the metric counts wire bytes
    return wire, dict(answer.headers)


async def test_same_report_with_several_times_fewer_bytes(flask_client: FlaskClient, flask_flag):
    await flask_flag("gzip", False)
    raw, raw_headers = _report(flask_client, "naive")
    await flask_flag("gzip", True)
    packed, headers = _report(flask_client, "optimised")
    identity, identity_headers = _report(flask_client, "optimised", encoding="identity")

    assert "Content-Encoding" not in raw_headers
    assert headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in headers["Vary"]
    assert json.loads(gzip.decompress(packed)) == json.loads(raw)
    assert len(json.loads(raw)) > 100
    assert len(raw) >= 5 * len(packed)
    # A client that does not accept gzip gets the raw body, flag on or not.
    assert "Content-Encoding" not in identity_headers and identity == raw


async def test_small_reports_are_not_compressed(flask_client: FlaskClient, flask_flag):
    await flask_flag("gzip", True)
    small = flask_client.get("/reports/sales?limit=1", headers={"Accept-Encoding": "gzip"})
    assert small.status_code == 200 and len(small.get_data()) < 1024
    assert "Content-Encoding" not in small.headers
