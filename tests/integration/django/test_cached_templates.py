"""cached_templates (Django): the same HTML both ways; every template file read again on
each render naive, none once compiled optimised (perflab_template_loads_total)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.metrics import sample

pytestmark = pytest.mark.integration
LOADS = "perflab_template_loads_total"
TEMPLATES_PER_PAGE = 6  # shelf, base, nav, footer, shelf_header, book_row


def _shelf(client: httpx.Client, variant: str) -> str:
    answer = client.get("/books/shelf", params={"limit": 20})
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    assert answer.headers["content-type"].startswith("text/html")
    return answer.text


def _loads(client: httpx.Client) -> dict[str, float]:
    return {e: sample(client, LOADS, engine=e) for e in ("cached", "uncached")}


def test_templates_are_read_per_render_naive_and_once_optimised(django, set_flag):
    set_flag("cached_templates", True)
    _shelf(django, "optimised")  # warm: each template compiled once in this process
    before = _loads(django)
    optimised = [_shelf(django, "optimised") for _ in range(3)]
    middle = _loads(django)
    set_flag("cached_templates", False)
    naive = [_shelf(django, "naive") for _ in range(3)]
    after = _loads(django)

    assert set(optimised) == set(naive) and len(set(naive)) == 1
    assert naive[0].count("<tr data-id=") == 20
    assert middle == before  # nothing read again
    assert after["uncached"] - middle["uncached"] == 3 * TEMPLATES_PER_PAGE
    assert after["cached"] == middle["cached"]
