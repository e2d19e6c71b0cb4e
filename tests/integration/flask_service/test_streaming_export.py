"""streaming_export (Flask): identical CSV both ways; streamed a batch at a time.

Counts: the chunks the WSGI response yields and `perflab_export_buffer_peak_bytes`
(the largest CSV buffer held at once): the whole file naive, at most one batch
streamed. The body is read chunk by chunk and dropped, as a server sending it would.
"""

from __future__ import annotations

import hashlib

import pytest
from flask.testing import FlaskClient
from prometheus_client import REGISTRY

from perflab.flask_service.techniques.streaming_export import BATCH_ROWS, COLUMNS

pytestmark = pytest.mark.integration

LIMIT = 3 * BATCH_ROWS + 17


def _peak(variant: str) -> tuple[float, float]:
    labels = {"variant": variant}
    total = REGISTRY.get_sample_value("perflab_export_buffer_peak_bytes_sum", labels) or 0.0
    count = REGISTRY.get_sample_value("perflab_export_buffer_peak_bytes_count", labels) or 0.0
    return total, count


def _export(client: FlaskClient, variant: str, limit: int | None = LIMIT) -> dict:
    before = _peak(variant)
    query = {} if limit is None else {"limit": limit}
    answer = client.get("/export/orders.csv", query_string=query, buffered=False)
    assert answer.status_code == 200
    assert answer.headers["X-Technique-Variant"] == variant
    assert answer.mimetype == "text/csv"
    digest, size, chunks, first = hashlib.sha256(), 0, 0, b""
    for chunk in answer.response:
        first = first or chunk
        digest.update(chunk)
        size += len(chunk)
        chunks += 1
    answer.close()
    after = _peak(variant)
    return {
        "digest": digest.hexdigest(),
        "size": size,
        "chunks": chunks,
        "first": first,
        "peak": after[0] - before[0],
        "exports": after[1] - before[1],
    }


async def test_same_csv_whole_or_streamed_in_batches(flask_client: FlaskClient, flask_flag):
    await flask_flag("streaming_export", False)
    naive = _export(flask_client, "naive")
    await flask_flag("streaming_export", True)
    streamed = _export(flask_client, "optimised")

    assert naive["digest"] == streamed["digest"]
    assert naive["first"].split(b"\r\n", 1)[0].decode() == ",".join(COLUMNS)
    assert naive["first"].count(b"\r\n") == LIMIT + 1  # one body: header and every row
    assert naive["exports"] == streamed["exports"] == 1
    assert naive["peak"] == naive["size"]
    assert streamed["chunks"] == 4  # three full batches and the rest
    assert len(streamed["first"]) <= streamed["peak"] < naive["size"] / 2  # one batch
    assert streamed["first"].count(b"\r\n") == BATCH_ROWS + 1


async def test_an_empty_export_is_just_the_header(flask_client: FlaskClient, flask_flag):
    for enabled, variant in ((False, "naive"), (True, "optimised")):
        await flask_flag("streaming_export", enabled)
        answer = flask_client.get("/export/orders.csv", query_string={"limit": 0})
        assert answer.status_code == 422, variant  # limit >= 1
        assert answer.json["detail"][0]["loc"] == ["query", "limit"]
