"""middleware_diet (Django): the same price both ways; 9 middleware run per request
naive (counted, and their headers show), none optimised."""

from __future__ import annotations

import httpx
import pytest

from perflab.django_service.techniques.middleware_diet import FULL_STACK
from tests.support.metrics import sample

pytestmark = pytest.mark.integration
CLASSES = [path.rsplit(".", 1)[1] for path in FULL_STACK]


def _calls(client: httpx.Client) -> dict[str, float]:
    metric = "perflab_middleware_calls_total"
    return {name: sample(client, metric, middleware=name) for name in CLASSES}


def _price(client: httpx.Client, variant: str) -> httpx.Response:
    answer = client.get("/books/3/price")
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer


def test_full_stack_runs_nine_middleware_minimal_none(django: httpx.Client, set_flag):
    set_flag("middleware_diet", False)
    before = _calls(django)
    naive = [_price(django, "naive") for _ in range(3)]
    after_naive = _calls(django)
    set_flag("middleware_diet", True)
    optimised = [_price(django, "optimised") for _ in range(3)]
    after_optimised = _calls(django)

    assert len(CLASSES) == 9
    assert {n: after_naive[n] - before[n] for n in CLASSES} == dict.fromkeys(CLASSES, 3.0)
    assert after_optimised == after_naive
    assert {a.json()["id"] for a in naive + optimised} == {3}
    assert naive[0].json() == optimised[0].json()
    # The stack's own marks: framing policy, language negotiation.
    assert naive[0].headers["X-Frame-Options"] == "DENY"
    assert naive[0].headers["Content-Language"] == "en"
    assert "X-Frame-Options" not in optimised[0].headers


def test_an_unknown_book_is_404_through_the_full_stack_too(django: httpx.Client, set_flag):
    set_flag("middleware_diet", False)
    answer = django.get("/books/999999/price")
    assert answer.status_code == 404 and "book 999999" in answer.json()["error"]
