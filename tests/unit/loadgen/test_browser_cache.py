"""The load generator's browser cache: fresh copies are not asked for, stale ones are
revalidated with the validators the server gave."""

from __future__ import annotations

from loadgen.browser_cache import BrowserCache, asset_links, asset_name


def test_immutable_assets_are_not_requested_until_they_expire() -> None:
    cache = BrowserCache()
    assert cache.request_headers("/static/app.1234.css", 0) == {}
    cache.store(
        "/static/app.1234.css", 200,
        {"cache-control": "max-age=315360000, public, immutable", "etag": '"x"'}, 0,
    )  # fmt: skip
    assert cache.request_headers("/static/app.1234.css", 1000) is None


def test_assets_without_cache_control_are_revalidated_every_time() -> None:
    cache = BrowserCache()
    last_modified = "Mon, 01 Jan 2024 00:00:00 GMT"
    cache.store("/assets/app.css", 200, {"last-modified": last_modified}, 0)
    assert cache.request_headers("/assets/app.css", 0.1) == {"If-Modified-Since": last_modified}
    cache.store("/assets/app.css", 304, {}, 0.2)  # a 304 keeps the validators
    assert cache.request_headers("/assets/app.css", 0.3) == {"If-Modified-Since": last_modified}
    cache.store("/assets/app.css", 200, {"cache-control": "no-store"}, 0.4)
    assert cache.request_headers("/assets/app.css", 0.5) == {}


def test_a_200_without_validators_replaces_the_copy_and_its_old_validators() -> None:
    # WhiteNoise gave an ETag; after a flip Django's static view answers a plain 200.
    cache = BrowserCache()
    cache.store("/static/app.css", 200, {"etag": '"w"'}, 0)
    assert cache.request_headers("/static/app.css", 0.1) == {"If-None-Match": '"w"'}
    cache.store("/static/app.css", 200, {}, 0.2)
    assert cache.request_headers("/static/app.css", 0.3) == {}


def test_links_and_names() -> None:
    html = (
        b'<link rel="stylesheet" href="/static/a.1.css"><link rel="icon" href="/x.ico">'
        b'<script src="/assets/b.js" defer></script>'
    )
    assert asset_links(html) == ["/static/a.1.css", "/assets/b.js"]
    assert asset_name("/static/shop/a.1.css") == "/static/{path}"


def test_a_revalidating_client_asks_every_time_and_keeps_its_copy_through_errors() -> None:
    # The load's API client: the card is `max-age=60`, but the point is its 304s.
    cache = BrowserCache(revalidate=True)
    cache.store("/books/1/card", 200, {"etag": '"c1"', "cache-control": "private, max-age=60"}, 0)
    assert cache.request_headers("/books/1/card", 1) == {"If-None-Match": '"c1"'}
    cache.store("/books/1/card", 503, {}, 2)  # an error replaces nothing
    assert cache.request_headers("/books/1/card", 3) == {"If-None-Match": '"c1"'}
    assert BrowserCache().request_headers("/books/1/card", 0) == {}  # nothing held yet


def test_header_names_are_read_in_any_case() -> None:
    # Locust's FastHttpUser hands over the server's own spelling.
    cache = BrowserCache()
    cache.store("/a.css", 200, {"ETag": '"e"', "Cache-Control": "no-cache"}, 0)
    assert cache.request_headers("/a.css", 1) == {"If-None-Match": '"e"'}
