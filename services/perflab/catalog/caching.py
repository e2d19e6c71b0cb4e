"""Techniques about not doing work twice: server-side caches and HTTP validators."""

from __future__ import annotations

from perflab.catalog.spec import Implementation, Load, TechniqueSpec

_BOOK = ("id", "title", "isbn", "genre", "published_year", "price_cents", "description", "author")

RESPONSE_CACHE = TechniqueSpec(
    name="response_cache",
    method="GET",
    path="/genres/top-rated",
    summary="Top 10 books by average rating in every genre, over all reviews.",
    lesson="Serve the genre leaderboard from Redis (cache-aside), not recomputed.",
    metric='perflab_cache_requests_total{cache="top_rated"}',
    expected="hit ratio ~100% on steady reads; 0 SQL per hit; p50 ~230 ms -> ~2 ms at scale 1",
    key_figure="rps",
    promise=3.0,
    signals=("cache_hit_ratio", "cache_lookups"),
    load=Load(keys=("genres",)),
    implementations={
        "fastapi": Implementation(
            naive="Runs the aggregate over every review on each request.",
            optimised="Cache-aside in Redis (versioned key, TTL, deleted on review writes).",
        ),
        "django": Implementation(
            naive="Runs the ORM aggregate over every review on each request.",
            optimised="Django's cache framework on Redis (RedisCache): `cache.get` / "
            "`cache.set` around the aggregate, deleted on review writes.",
        ),
        "flask": Implementation(
            naive="Runs the aggregate (SQLAlchemy Core) on each request.",
            optimised="Flask-Caching `@cache.memoize` on Redis (TTL, deleted on review writes).",
        ),
    },
)

HTTP_CACHING = TechniqueSpec(
    name="http_caching",
    method="GET",
    path="/books/{book_id}/card",
    summary="A book card (book, author, description, review summary).",
    lesson="Answer with ETag / Cache-Control and 304 Not Modified when unchanged.",
    metric='perflab_http_response_size_bytes{route="/books/{book_id}/card"}',
    expected="revalidations answer 304 with 0 body bytes instead of ~1.8 KB",
    key_figure="bytes_per_response",
    promise=None,
    signals=("not_modified_ratio", "bytes_sent"),
    # A hot set of books, so revalidations happen.
    load=Load(keys=(*_BOOK, "review_count"), ids={"book_id": 20}),
    implementations={
        "fastapi": Implementation(
            naive="Always 200 with the full body, no validators.",
            optimised="Strong ETag + Cache-Control; 304 with no body when If-None-Match matches.",
        ),
        "django": Implementation(
            naive="Always 200 with the full body, no validators.",
            optimised="The same view under Django's `conditional_page` (ETag, 304) and "
            "`cache_control(private=True, max_age=60)` decorators.",
        ),
        "flask": Implementation(
            naive="Always 200 with the full body, no validators.",
            optimised="Werkzeug's `add_etag()` + `make_conditional(request)` (304) and "
            "`cache_control` (private, max-age=60).",
        ),
    },
)
