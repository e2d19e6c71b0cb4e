"""Techniques about talking to Postgres: query shape, indexes, connections, writes."""

from __future__ import annotations

from perflab.catalog.spec import Implementation, Load, TechniqueSpec

_BOOK = ("id", "title", "isbn", "genre", "published_year", "price_cents", "description", "author")

N_PLUS_ONE = TechniqueSpec(
    name="n_plus_one",
    method="GET",
    path="/books",
    summary="List books with author and review count.",
    lesson="Load book lists with a JOIN plus one batched IN query instead of 1+N queries.",
    metric='perflab_db_queries_per_request{route="/books"}',
    expected="queries per request 101 -> 2 for 50 books; p50 ~3x lower, p95 ~4x",
    key_figure="p50",
    # On the key figure: the client median, whose ~1 ms outside the technique (HTTP,
    # middleware, Locust) both arms pay; measured 2.6-3.3x on two cores (p95's 5x was
    # the promise when p95 was the key figure).
    promise=2.5,
    signals=("queries_per_request", "http_p95"),
    load=Load(
        query={"limit": (50, 50)}, shape="list", keys=("id", "title", "author", "review_count")
    ),
    implementations={
        "fastapi": Implementation(
            naive="1 query for the page + 1 per book for its author + 1 per book for its reviews.",
            optimised="JOIN authors (select_related) + one batched `= ANY($1)` count (prefetch).",
        ),
        "django": Implementation(
            naive='`Book.objects.order_by("id")[:limit]`, then `book.author` and '
            "`book.reviews.count()` in the loop: 1 + 2N queries.",
            optimised='`select_related("author")` + `annotate(review_count=Count("reviews"))`: '
            "one query (a JOIN and a grouped count).",
        ),
        "flask": Implementation(
            naive="SQLAlchemy lazy `select` relationships: book.author and book.reviews "
            "each load on first access in the loop (1 + ~2N statements).",
            optimised="`joinedload(Book.author)` + `selectinload(Book.reviews)`: 2 statements.",
        ),
    },
)

DB_INDEX = TechniqueSpec(
    name="db_index",
    method="GET",
    path="/users/{user_id}/orders",
    summary="Orders of one user, filtered by orders.user_id.",
    lesson="Keep an index on orders.user_id instead of scanning the whole table.",
    metric='perflab_technique_duration_seconds{technique="db_index"}',
    expected="Seq Scan of every order -> Bitmap Index Scan; p50 ~40 ms -> ~2 ms at scale 1",
    key_figure="p50",
    promise=None,
    signals=("sql_p95", "http_p95"),
    load=Load(keys=("user_id", "orders")),
    implementations={
        "fastapi": Implementation(
            naive="Same query with no index on orders.user_id: a sequential scan of every order.",
            optimised="Same query; the flip built orders_user_id_idx (CREATE INDEX "
            "CONCURRENTLY): index scan.",
        ),
        "django": Implementation(
            naive="The same ORM filter `Order.objects.filter(user_id=...)`; without the index, a "
            "sequential scan.",
            optimised="The same ORM filter; the API's flip built orders_user_id_idx "
            "(Postgres-wide): an index scan.",
        ),
        "flask": Implementation(
            naive="The same `select(...).where(Order.user_id == ...)`; without the index, a "
            "sequential scan.",
            optimised="The same statement; the API's flip built orders_user_id_idx "
            "(Postgres-wide): an index scan.",
        ),
    },
)

CONNECTION_POOL = TechniqueSpec(
    name="connection_pool",
    method="GET",
    path="/books/{book_id}",
    summary="One book with its author (a single indexed lookup).",
    lesson="Borrow pooled connections instead of opening one per request.",
    metric="perflab_db_connections_opened_total",
    expected='kind="direct" opened/s = requests/s -> 0; p50 ~20 ms -> ~2-4 ms',
    key_figure="rps",
    promise=3.0,
    signals=("connections_opened", "pool_acquire_p95"),
    load=Load(keys=_BOOK),
    implementations={
        "fastapi": Implementation(
            naive="Opens a new Postgres connection per request, queries, closes it.",
            optimised="Borrows a warm connection from the asyncpg pool.",
        ),
        "flask": Implementation(
            naive="A SQLAlchemy engine with NullPool: every request connects and disconnects.",
            optimised="The engine's QueuePool: a warm connection is checked out and back in.",
        ),
    },
)

PREPARED_STATEMENTS = TechniqueSpec(
    name="prepared_statements",
    method="GET",
    path="/authors/{author_id}",
    summary="An author with book count, review count, average rating and genres.",
    lesson="Reuse the driver's prepared-statement cache instead of re-preparing.",
    metric='perflab_technique_duration_seconds{technique="prepared_statements"}',
    expected="Parse messages 2 -> 0 and round trips 2 -> 1 per query; p50 lower",
    key_figure="technique_mean",
    promise=None,
    signals=("sql_p50", "http_p95"),
    load=Load(keys=("id", "name", "book_count", "genres")),
    implementations={
        "fastapi": Implementation(
            naive="A pool with statement_cache_size=0: SQL parsed twice and planned on every call.",
            optimised="The normal pool: each connection prepares once, then binds and executes.",
        ),
        "django": Implementation(
            naive="Django's default: client-side binding, `prepare_threshold` None; the SQL "
            "is parsed and planned on every call.",
            optimised="An alias with `server_side_binding` and `prepare_threshold: 5`: "
            "psycopg prepares the query on its fifth run per connection, then binds.",
        ),
    },
)

SELECT_COLUMNS = TechniqueSpec(
    name="select_columns",
    method="GET",
    path="/books/catalog",
    summary="A catalog page of books (optionally one genre), without descriptions.",
    lesson="Select only the columns the page shows instead of SELECT *.",
    metric='perflab_technique_duration_seconds{technique="select_columns"}',
    expected="bytes from Postgres per 50-book page ~84 KB -> ~4 KB (22x fewer)",
    # What the technique changes, read from the kernel's per-connection byte count; at
    # the lab's scale the latency hardly moves (p50 0.98-1.09x), which is a lesson too.
    # Measured 22.4-22.8x in all three services.
    key_figure="db_bytes_per_request",
    promise=10.0,
    signals=("sql_p95", "http_p95"),
    load=Load(shape="list", keys=("id", "title", "genre", "price_cents")),
    implementations={
        "fastapi": Implementation(
            naive="SELECT * (drags the ~1.5 KB description of every row), mapped to the model.",
            optimised="SELECT of the six columns the page shows.",
        ),
        "django": Implementation(
            naive="`Book.objects.filter(...)`: every column, each row a full model instance.",
            optimised="`.values(...)` of the six columns the page shows (`only()` is the "
            "model-instance form).",
        ),
        "flask": Implementation(
            naive="`select(Book)`: every mapped column, description included.",
            optimised="`select(Book).options(load_only(...))` of the six columns the page shows.",
        ),
    },
)

PAGINATION = TechniqueSpec(
    name="pagination",
    method="GET",
    path="/orders/feed",
    summary="Every order in id order, page by page (follow next_cursor or ask page=N).",
    lesson="Page with a keyset (seek) instead of a deep OFFSET.",
    metric='perflab_technique_duration_seconds{technique="pagination"}',
    expected="rows read for page N: N x size -> size; page 5000: ~20-40 ms -> ~2 ms",
    key_figure="p50",
    promise=None,
    signals=("sql_p95", "http_p95"),
    # Pages 1..100 of 50 exist at any scale >= 0.01; users then follow `next_cursor`
    # (loadgen/base_user.py), going deeper, which is what OFFSET pays for.
    load=Load(query={"page": (1, 100)}, keys=("page", "size", "items")),
    implementations={
        "fastapi": Implementation(
            naive="ORDER BY id OFFSET (N-1)*size LIMIT size: reads and discards every earlier row.",
            optimised="Keyset: WHERE id > last id of the previous page ORDER BY id LIMIT size.",
        ),
        "django": Implementation(
            naive="`Paginator(queryset, size).page(N)`: COUNT(*) of every order, then OFFSET.",
            optimised='Keyset: `filter(id__gt=last_id).order_by("id")[:size]`, no count.',
        ),
        "flask": Implementation(
            naive="`select(...).order_by(Order.id).offset((N-1)*size).limit(size)`.",
            optimised="Keyset: `.where(Order.id > last_id).order_by(Order.id).limit(size)`.",
        ),
    },
)

BATCH_INSERT = TechniqueSpec(
    name="batch_insert",
    method="POST",
    path="/orders/bulk",
    summary="Bulk-create orders from a JSON list (1..5000 items), all or nothing.",
    lesson="Insert a bulk import with COPY in one transaction instead of row by row.",
    metric='perflab_db_queries_per_request{route="/orders/bulk"}',
    expected="statements per request N+3 -> 7 (100 rows: 103 -> 7); import ~10x faster",
    key_figure="queries_per_request",
    promise=None,
    signals=("queries_per_request", "http_p95"),
    load=Load(body="bulk_orders", statuses=(201,), keys=("count", "ids")),
    implementations={
        "fastapi": Implementation(
            naive="Validate, then one INSERT per row, each autocommitted (N round trips, "
            "N commits).",
            optimised="Validate, then N ids in one nextval query and one COPY in one transaction.",
        ),
        "django": Implementation(
            naive="Validate, then `Order(...).save()` per row, each autocommitted: N INSERTs, "
            "N commits.",
            optimised="Validate, then one `Order.objects.bulk_create(...)` in "
            "`transaction.atomic()`: one multi-row INSERT, one commit.",
        ),
        "flask": Implementation(
            naive="Validate, then `session.add(Order(...))` + `commit()` per row (N INSERTs, "
            "N commits).",
            optimised="Validate, then one `insert(Order).returning(Order.id)` with every row "
            "(insertmanyvalues: 1 statement per 1000 rows), one commit.",
        ),
    },
)
