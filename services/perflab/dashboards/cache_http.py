"""Cache and HTTP: hit ratio, bytes on the wire, compression and 304s."""

from __future__ import annotations

from typing import Any

from perflab.dashboards import queries as q
from perflab.dashboards.common import dashboard, finish, flag_state, prom, timeseries

UID = "perflab-cache-http"


def build() -> dict[str, Any]:
    builder = (
        dashboard(
            UID, "perflab / Cache and HTTP", "Redis cache, response sizes, gzip, HTTP caching."
        )
        .with_panel(flag_state())
        .with_panel(
            timeseries(
                "Cache hit ratio by cache",
                "percentunit",
                prom(q.CACHE_HIT_RATIO_BY_CACHE, "{{cache}}"),
                description="Hits over all look-ups; response_cache on should keep it near 100 %.",
            )
        )
        .with_panel(
            timeseries(
                "Cache look-ups per second by result",
                "ops",
                prom(q.CACHE_LOOKUPS_BY_RESULT, "{{cache}} {{result}}"),
            )
        )
        .with_panel(
            timeseries(
                "Response size by route (mean)",
                "bytes",
                prom(q.RESPONSE_SIZE_MEAN_BY_ROUTE, "{{route}}"),
                description="Body bytes sent on the wire, after compression.",
            )
        )
        .with_panel(
            timeseries(
                "Response size by route (p50)",
                "bytes",
                prom(q.RESPONSE_SIZE_P50_BY_ROUTE, "{{route}}"),
            )
        )
        .with_panel(
            timeseries(
                f"Compression effect: {q.GZIP_ROUTE} response size, gzip on vs off",
                "bytes",
                prom(q.while_flag(q.GZIP_ROUTE_SIZE_P50, "gzip", True), "p50, gzip on"),
                prom(q.while_flag(q.GZIP_ROUTE_SIZE_P50, "gzip", False), "p50, gzip off"),
                prom(q.while_flag(q.GZIP_ROUTE_SIZE_MEAN, "gzip", True), "mean, gzip on"),
                prom(q.while_flag(q.GZIP_ROUTE_SIZE_MEAN, "gzip", False), "mean, gzip off"),
                description="Each series is drawn only while the gzip flag had that state.",
            )
        )
        .with_panel(
            timeseries(
                "Bytes sent per second by route", "Bps", prom(q.BYTES_SENT_BY_ROUTE, "{{route}}")
            )
        )
        .with_panel(
            timeseries(
                "Share of 304 Not Modified (3xx) responses",
                "percentunit",
                prom(q.NOT_MODIFIED_RATIO, "3xx share"),
                description="http_caching on: repeat requests with a matching ETag answer 304.",
            )
        )
    )
    return finish(builder)
