"""Techniques only the Flask service shows: where an ORM query filters, async views."""

from __future__ import annotations

from perflab.catalog.spec import Implementation, Load, TechniqueSpec

# Authors' countries in the seed (db/seed.py): every one has authors at any scale.
_COUNTRIES = ("GB", "US", "FR", "DE", "NG", "IN", "JP", "BR", "IT", "ES", "SE", "AR")

FILTER_IN_DATABASE = TechniqueSpec(
    name="filter_in_database",
    method="GET",
    path="/books/by-country",
    summary="The cheapest books by authors from one country, under a price.",
    lesson="Join and filter in SQL instead of loading every row and filtering in Python.",
    metric='perflab_technique_duration_seconds{technique="filter_in_database"}',
    expected="rows read per request every book + every author -> at most `limit`; "
    "p95 from hundreds of ms to a few ms at scale 1",
    key_figure="p50",
    promise=5.0,
    signals=("http_p95", "cpu"),
    load=Load(
        query={"max_price": (1500, 4999), "limit": (20, 20)},
        choices={"country": _COUNTRIES},
        keys=("country", "max_price", "books"),
    ),
    implementations={
        "flask": Implementation(
            naive="`select(Book)` and `select(Author)` in full, joined by a dict and filtered, "
            "sorted and sliced in Python.",
            optimised="`select(Book).join(Book.author).where(...).order_by(...).limit(n)`: "
            "the one join needed, the filter, order and limit in Postgres.",
        ),
    },
)

ASYNC_VIEWS = TechniqueSpec(
    name="async_views",
    method="GET",
    path="/books/{book_id}/offer",
    summary="A book's offer from three slow upstream services (price, stock, delivery).",
    lesson="Await independent upstream calls together (asyncio.gather), not one by one.",
    metric="perflab_upstream_calls_in_progress",
    expected="upstream calls in flight per request 1 -> 3; latency 3 x upstream -> 1 x; "
    "the WSGI worker is still held for the whole request",
    key_figure="p50",
    promise=2.0,
    signals=("upstream_in_flight", "http_p95"),
    load=Load(keys=("book_id", "price_cents", "in_stock", "delivery_days")),
    implementations={
        "flask": Implementation(
            naive="An `async def` view awaiting the three upstream calls one after another.",
            optimised="The same async view awaiting them together with `asyncio.gather`.",
        ),
    },
)
