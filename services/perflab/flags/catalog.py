"""The flags the lab knows. Each names the technique it switches; on = optimised."""

from __future__ import annotations

FLAGS: dict[str, str] = {
    "n_plus_one": "Load book lists with a JOIN plus one batched IN query instead of 1+N queries.",
    "db_index": "Keep an index on orders.user_id instead of scanning the whole table.",
    "response_cache": "Serve the genre leaderboard from Redis (cache-aside), not recomputed.",
    "connection_pool": "Borrow pooled connections instead of opening one per request.",
    "prepared_statements": "Reuse asyncpg's prepared-statement cache instead of re-preparing.",
    "select_columns": "Select only the columns the page shows instead of SELECT *.",
    "pagination": "Page with a keyset (seek) instead of a deep OFFSET.",
    "gzip": "Compress large JSON responses instead of sending them raw.",
    "fast_json": "Serialise large payloads with orjson instead of the standard library.",
    "streaming_export": "Stream the CSV export from a server-side cursor, not built whole.",
    "background_offload": "Send the confirmation e-mail from a Celery task and answer 202.",
    "batch_insert": "Insert a bulk import with COPY in one transaction instead of row by row.",
    "async_io": "Await the slow upstream call instead of blocking the event loop.",
    "cpu_offload": "Run CPU-bound work in a process pool instead of on the event loop.",
    "http_caching": "Answer with ETag / Cache-Control and 304 Not Modified when unchanged.",
}
