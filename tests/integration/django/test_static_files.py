"""static_files (Django): the same CSS/JS both ways, fetched by a browser-like client
(loadgen's BrowserCache): every repeat view revalidates each asset naive (304s), and
makes no request at all optimised (hashed, immutable); first views cost fewer bytes."""

from __future__ import annotations

import gzip
import re
import time

import httpx
import pytest
from loadgen.browser_cache import BrowserCache, asset_links

pytestmark = pytest.mark.integration


def _visit(client: httpx.Client, browser: BrowserCache, variant: str) -> tuple[list, int, dict]:
    """One page view: (asset answers' statuses, wire bytes of assets, decoded bodies)."""
    page = client.get("/storefront")
    assert page.status_code == 200 and page.headers["X-Technique-Variant"] == variant
    statuses, wire, bodies = [], 0, {}
    for url in asset_links(page.content):
        headers = browser.request_headers(url, time.monotonic())
        if headers is None:
            continue  # fresh in the browser's cache
        with client.stream("GET", url, headers={"Accept-Encoding": "gzip", **headers}) as answer:
            raw = b"".join(answer.iter_raw())
        statuses.append(answer.status_code)
        wire += len(raw)
        if answer.status_code == 200:
            coded = answer.headers.get("content-encoding") == "gzip"
            name = re.sub(r"\.[0-9a-f]{12}\.", ".", url.rsplit("/", 1)[1])
            bodies[name] = gzip.decompress(raw) if coded else raw
        got = {k.lower(): v for k, v in answer.headers.items()}
        browser.store(url, answer.status_code, got, time.monotonic())
    return statuses, wire, bodies


def test_repeat_views_revalidate_naive_and_ask_nothing_optimised(django, set_flag):
    set_flag("gzip", False)  # the comparison is about the static files' own handling
    set_flag("static_files", False)
    browser = BrowserCache()
    naive_first = _visit(django, browser, "naive")
    naive_again = _visit(django, browser, "naive")
    set_flag("static_files", True)
    browser = BrowserCache()
    optimised_first = _visit(django, browser, "optimised")
    optimised_again = _visit(django, browser, "optimised")

    assert naive_first[0] == [200, 200] and optimised_first[0] == [200, 200]
    assert naive_first[2] == optimised_first[2]  # the same files
    assert set(naive_first[2]) == {"storefront.css", "storefront.js"}
    assert naive_again[0] == [304, 304] and naive_again[1] == 0  # two round trips
    assert optimised_again[0] == []  # no request at all
    assert optimised_first[1] * 3 < naive_first[1]  # pre-compressed


def test_asset_paths_outside_the_static_folder_are_404(django: httpx.Client):
    assert django.get("/assets/../settings.py").status_code == 404
    assert django.get("/assets/shop/missing.css").status_code == 404
