"""streaming_export (Django): the same CSV bytes both ways; the whole file is buffered
naive, one batch at most optimised (perflab_export_buffer_peak_bytes, read back)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.metrics import sample

pytestmark = pytest.mark.integration
PEAK = "perflab_export_buffer_peak_bytes"


def _export(client: httpx.Client, variant: str, limit: int) -> httpx.Response:
    answer = client.get(
        "/export/orders.csv", params={"limit": limit}, headers={"Accept-Encoding": ""}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    assert answer.headers["content-type"].startswith("text/csv")
    return answer


def _peak(client: httpx.Client, variant: str) -> tuple[float, float]:
    return (
        sample(client, f"{PEAK}_sum", variant=variant),
        sample(client, f"{PEAK}_count", variant=variant),
    )


def test_same_csv_with_a_bounded_buffer_when_streaming(django: httpx.Client, set_flag):
    limit = 5000
    set_flag("gzip", False)
    set_flag("streaming_export", False)
    before = _peak(django, "naive")
    naive = _export(django, "naive", limit)
    after = _peak(django, "naive")
    set_flag("streaming_export", True)
    before_opt = _peak(django, "optimised")
    optimised = _export(django, "optimised", limit)
    after_opt = _peak(django, "optimised")

    assert naive.content == optimised.content
    lines = naive.content.decode().splitlines()
    assert lines[0] == "id,user_id,book_id,quantity,total_cents,status,created_at"
    assert len(lines) == limit + 1
    naive_peak = after[0] - before[0]
    optimised_peak = after_opt[0] - before_opt[0]
    assert after[1] - before[1] == 1 and after_opt[1] - before_opt[1] == 1
    assert naive_peak == len(naive.content)  # the whole file at once
    assert optimised_peak <= len(naive.content) / 4  # one 1000-row batch of 5000
