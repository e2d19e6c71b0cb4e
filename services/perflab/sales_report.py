"""The gzip technique's report, the same statement in every service (each driver has its
own placeholder style: asyncpg `$1`, psycopg `%s`, SQLAlchemy `:limit`)."""

from __future__ import annotations

# Aggregates only the page's books; orders has no index on book_id, so one hash join.
_SALES_REPORT = """
WITH page AS (
    SELECT b.id, b.title, b.genre, a.name AS author
    FROM books b JOIN authors a ON a.id = b.author_id
    ORDER BY b.id LIMIT {limit}
), sales AS (
    SELECT o.book_id, count(*) AS orders, sum(o.quantity) AS units,
           sum(o.total_cents) AS revenue_cents,
           count(*) FILTER (WHERE o.status = 'cancelled') AS cancelled,
           max(o.created_at) AS last_order_at
    FROM orders o JOIN page p ON p.id = o.book_id
    GROUP BY o.book_id
)
SELECT p.id AS book_id, p.title, p.genre, p.author,
       coalesce(s.orders, 0) AS orders, coalesce(s.units, 0) AS units,
       coalesce(s.revenue_cents, 0) AS revenue_cents,
       coalesce(s.cancelled, 0) AS cancelled, s.last_order_at
FROM page p LEFT JOIN sales s ON s.book_id = p.id
ORDER BY p.id
"""
PLACEHOLDERS = frozenset({"$1", "%s", ":limit"})


def sales_report_sql(limit_placeholder: str) -> str:
    """The statement with the driver's bind placeholder for the page size (the limit
    itself is always sent as a parameter)."""
    if limit_placeholder not in PLACEHOLDERS:
        raise ValueError(f"not a bind placeholder: {limit_placeholder!r}")
    return _SALES_REPORT.format(limit=limit_placeholder)
