"""template_fragment_cache (Django): the same page both ways; the sidebar's aggregate runs
on every page naive, and only on a miss of `{% cache %}` optimised (hits counted)."""

from __future__ import annotations

import httpx
import pytest
import redis

from perflab.settings import Settings
from tests.support.metrics import sample

pytestmark = pytest.mark.integration
CACHE = "sidebar_fragment"


def _page(client: httpx.Client, book_id: int, variant: str) -> tuple[str, int]:
    answer = client.get(f"/books/{book_id}/page")
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    assert answer.headers["content-type"].startswith("text/html")
    return answer.text, int(answer.headers["X-DB-Queries"])


def _forget_fragment(redis_url: str) -> None:
    """Drop the cached sidebar (Django keys it `<prefix>:<version>:template.cache.<name>.*`)."""
    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter("perflab:django:*template.cache.bestsellers*"):
            client.delete(key)
    finally:
        client.close()


def test_sidebar_query_runs_per_page_naive_and_only_on_a_miss_optimised(
    django: httpx.Client, set_flag, settings: Settings
):
    set_flag("template_fragment_cache", False)
    naive = [_page(django, book_id, "naive") for book_id in (2, 3)]
    set_flag("template_fragment_cache", True)
    _forget_fragment(settings.redis.url)
    hits = sample(django, "perflab_cache_requests_total", cache=CACHE, result="hit")
    misses = sample(django, "perflab_cache_requests_total", cache=CACHE, result="miss")
    optimised = [_page(django, book_id, "optimised") for book_id in (2, 3)]

    assert [html for html, _ in naive] == [html for html, _ in optimised]
    assert "Best sellers" in naive[0][0] and naive[0][0].count("sold)</li>") == 10
    assert [sql for _, sql in naive] == [2, 2]  # the book + the sidebar's aggregate
    assert [sql for _, sql in optimised] == [2, 1]  # a miss (stored), then a hit
    assert sample(django, "perflab_cache_requests_total", cache=CACHE, result="miss") == misses + 1
    assert sample(django, "perflab_cache_requests_total", cache=CACHE, result="hit") == hits + 1
