"""Techniques about the response itself: its bytes, its encoding, its memory."""

from __future__ import annotations

from perflab.catalog.spec import Implementation, Load, TechniqueSpec

GZIP = TechniqueSpec(
    name="gzip",
    method="GET",
    path="/reports/sales",
    summary="A large JSON sales report (one row per book).",
    lesson="Compress large JSON responses instead of sending them raw.",
    metric='perflab_http_response_size_bytes{route="/reports/sales"}',
    expected="bytes on the wire ~6.5x lower (372 KB -> 56 KB); ~5 ms CPU per response",
    key_figure="bytes_per_response",
    promise=5.0,
    signals=("response_size", "bytes_sent"),
    load=Load(query={"limit": (500, 500)}, shape="list", keys=("book_id", "revenue_cents")),
    implementations={
        "fastapi": Implementation(
            naive="Send the JSON body as is (identity encoding).",
            optimised="Starlette's GZipMiddleware, chosen per request by the flag, gzips "
            "bodies >= 500 bytes for clients accepting gzip.",
        ),
        "django": Implementation(
            naive="Send the JSON body as is.",
            optimised="Django's `GZipMiddleware` (a subclass that runs only while the flag is on).",
        ),
        "flask": Implementation(
            naive="Send the JSON body as is (identity encoding).",
            optimised="Flask-Compress gzips the response (>= 1 KB, clients accepting gzip).",
        ),
    },
)

FAST_JSON = TechniqueSpec(
    name="fast_json",
    method="GET",
    path="/books/dump",
    summary="Dump thousands of books with author and review summary as JSON.",
    lesson="Serialise large payloads with orjson instead of the standard library.",
    metric='perflab_technique_cpu_seconds{technique="fast_json"}',
    expected="serialisation ~14x less CPU (10.5 ms -> 0.8 ms for 2000 books); same bytes",
    key_figure="technique_cpu_mean",
    promise=None,
    signals=("cpu", "http_p95"),
    load=Load(query={"limit": (500, 500)}, shape="list", keys=("id", "title")),
    implementations={
        "fastapi": Implementation(
            naive="Stdlib json.dumps with a default= hook for datetimes, then str.encode.",
            optimised="orjson.dumps straight to UTF-8 bytes (datetimes handled natively).",
        ),
        "django": Implementation(
            naive="json.dumps (what JsonResponse runs), a default= hook per datetime.",
            optimised="orjson.dumps handed to an HttpResponse as bytes.",
        ),
        "flask": Implementation(
            naive="json.dumps (what Flask's JSON provider runs), a default= hook per datetime.",
            optimised="orjson.dumps returned as the Response's bytes.",
        ),
    },
)

STREAMING_EXPORT = TechniqueSpec(
    name="streaming_export",
    method="GET",
    path="/export/orders.csv",
    summary="Export every order as CSV.",
    lesson="Stream the CSV export from a server-side cursor, not built whole.",
    metric="perflab_export_buffer_peak_bytes{variant} and process resident memory",
    expected="peak memory ~200x lower (236 MB -> 1.2 MB for 500k orders); early first byte",
    key_figure="export_buffer_peak",
    promise=5.0,
    signals=("export_buffer", "rss"),
    # Bounded: a whole export at scale 1 is 500k rows; 20k already shows the memory.
    load=Load(query={"limit": (20_000, 20_000)}, kind="csv"),
    implementations={
        "fastapi": Implementation(
            naive="Fetch all rows, build the whole CSV in a StringIO, send one body.",
            optimised="Server-side cursor in a read-only transaction, streamed in 1000-row "
            "batches.",
        ),
        "django": Implementation(
            naive="`list(queryset.values_list(...))`, the whole CSV written to a StringIO, one "
            "HttpResponse.",
            optimised="`queryset.iterator(chunk_size=1000)` (a server-side cursor) into a "
            "`StreamingHttpResponse`, one batch at a time.",
        ),
        "flask": Implementation(
            naive="`session.execute(...).all()`, the whole CSV built in a StringIO, one body.",
            optimised="`yield_per(1000)` (a psycopg server-side cursor) read by a generator "
            "that streams each batch as CSV.",
        ),
    },
)
