"""Server figures: exact, from what the service's counters and histograms gained
between two direct scrapes at the window's start and end (`scrape.Delta`), one value
per arm window (so their confidence interval is over the repeats). Every one selects
the series of the service under test by its `service` label (the worker's, scraped
beside it, carry none), so no figure mixes in another service's. A figure with no
value says why: the technique's traffic does not touch it.
"""

from __future__ import annotations

from collections.abc import Callable

from perflab.experiment.figure_types import Reading, Scope, ServerFigure
from perflab.experiment.scrape import API_CPU, DB_BYTES, DB_CONNECTIONS, Delta

_REQUESTS = "perflab_http_requests_total"


def _unanswered(scope: Scope) -> str:
    return f"no request to {scope.route} was answered in the window"


def _server_rps(d: Delta, s: Scope) -> Reading:
    return d.total(_REQUESTS, **s.routed) / d.seconds, ""


def _server_p95(d: Delta, s: Scope) -> Reading:
    return d.quantile(0.95, "perflab_http_request_duration_seconds", **s.routed), _unanswered(s)


def _server_errors(d: Delta, s: Scope) -> Reading:
    total = d.total(_REQUESTS, **s.routed)
    if total == 0:
        return None, _unanswered(s)
    return d.total(_REQUESTS, **s.routed, status_class="5xx") / total, ""


def _mean(
    histogram: str, why: str, *, by_route: bool = False, by_variant: bool = False
) -> Callable[[Delta, Scope], Reading]:
    """Mean observation of a histogram in the window (sum / count)."""

    def read(d: Delta, s: Scope) -> Reading:
        labels = s.routed if by_route else s.mine
        if by_variant and s.variant:
            labels["variant"] = s.variant
        count = d.total(f"{histogram}_count", **labels)
        if count == 0:
            return None, why.format(route=s.route)
        return d.total(f"{histogram}_sum", **labels) / count, ""

    return read


def _pool_wait_p95(d: Delta, s: Scope) -> Reading:
    value = d.quantile(0.95, "perflab_db_pool_acquire_seconds", **s.mine)
    return value, "no connection was taken from the pool (this path does not use it)"


def _connections_opened(d: Delta, s: Scope) -> Reading:
    return d.total("perflab_db_connections_opened_total", **s.mine) / d.seconds, ""


def _cache_hits_per_request(d: Delta, s: Scope) -> Reading:
    # Per request, not per look-up: with the flag off there are no look-ups at all.
    total = d.total(_REQUESTS, **s.routed)
    if total == 0:
        return None, _unanswered(s)
    return d.total("perflab_cache_requests_total", **s.mine, result="hit") / total, ""


def _technique_p95(d: Delta, s: Scope) -> Reading:
    return d.quantile(0.95, "perflab_technique_duration_seconds", **s.timed), s.never_ran


def _technique_mean(d: Delta, s: Scope) -> Reading:
    count = d.total("perflab_technique_duration_seconds_count", **s.timed)
    if count == 0:
        return None, s.never_ran
    return d.total("perflab_technique_duration_seconds_sum", **s.timed) / count, ""


def _technique_cpu_mean(d: Delta, s: Scope) -> Reading:
    count = d.total("perflab_technique_cpu_seconds_count", **s.timed)
    if count == 0:
        if d.total("perflab_technique_duration_seconds_count", **s.timed):
            # Only a path that never awaits has a CPU clock of its own (fast_json).
            return None, f"only the wall time of the {s.technique} path is recorded"
        return None, s.never_ran
    return d.total("perflab_technique_cpu_seconds_sum", **s.timed) / count, ""


def _api_cpu_per_request(d: Delta, s: Scope) -> Reading:
    requests = d.total(_REQUESTS, **s.mine)
    if requests == 0:
        return None, f"{s.service} answered no request in the window"
    # Read from the OS at each scrape when the service runs here (exact); else the
    # processes' own gauge, sampled once a second (an error of up to a second of CPU
    # per window).
    cpu_metric = API_CPU if d.has(API_CPU) else "perflab_process_cpu_seconds"
    return d.total(cpu_metric, **s.mine) / requests, ""


def _db_bytes_per_request(d: Delta, s: Scope) -> Reading:
    open_at_end = d.at_end(DB_CONNECTIONS, **s.mine)
    if open_at_end is None:
        return None, (
            f"{s.service}'s sockets were not read (it does not run on this machine, "
            "or iproute2's `ss` is missing)"
        )
    # A closed connection takes its count with it: no value rather than too low a one.
    opened = d.total("perflab_db_connections_opened_total", **s.mine)
    closed = sum(1 for name, _ in d.gone if name == DB_BYTES) + max(
        0, opened - sum(1 for name, _ in d.born if name == DB_BYTES)
    )
    if closed:
        return None, f"{closed:.0f} Postgres connection(s) closed inside the window, bytes and all"
    if not open_at_end:
        # Read as 0 bytes it would be a false "nothing came": say what was not seen.
        return None, f"no Postgres connection of {s.service}'s processes was seen from here"
    requests = d.total(_REQUESTS, **s.mine)
    if requests == 0:
        return None, f"{s.service} answered no request in the window"
    return d.total(DB_BYTES, **s.mine) / requests, ""


_LOOP_DELAY = "perflab_event_loop_delay_seconds_total"


def _loop_delay_share(d: Delta, s: Scope) -> Reading:
    if not d.has(_LOOP_DELAY):
        return None, f"{s.service} has no event loop (it exports no loop delay)"
    return d.total(_LOOP_DELAY, **s.mine) / d.seconds, ""


def _at_end(gauge: str, why: str) -> Callable[[Delta, Scope], Reading]:
    def read(d: Delta, s: Scope) -> Reading:
        value = d.at_end(gauge, **s.mine)
        return value, "" if value is not None else why

    return read


# The static_files technique's assets: WhiteNoise's route and Django's static view.
ASSET_ROUTES = ("/static/{path}", "/assets/{path}")


def _asset_requests_per_page(d: Delta, s: Scope) -> Reading:
    pages = d.total(_REQUESTS, **s.routed)
    if pages == 0:
        return None, _unanswered(s)
    assets = sum(d.total(_REQUESTS, **s.mine, route=route) for route in ASSET_ROUTES)
    return assets / pages, ""


def _items_examined_per_request(d: Delta, s: Scope) -> Reading:
    total = d.total(_REQUESTS, **s.routed)
    if total == 0:
        return None, _unanswered(s)
    return d.total("perflab_search_items_examined_total", **s.mine) / total, ""


_UNANSWERED = "no request to {route} was answered in the window"
SERVER_FIGURES = (
    ServerFigure("server_rps", "requests/s (server)", "req/s", "higher", _server_rps),
    ServerFigure("server_p95", "p95 latency (server)", "s", "lower", _server_p95),
    ServerFigure(
        # Exact (the histogram's sum over its count), every request of the window: what a
        # short arm's few requests estimate far better than a quantile.
        "server_mean", "mean latency (server)", "s", "lower",
        _mean("perflab_http_request_duration_seconds", _UNANSWERED, by_route=True),
    ),
    ServerFigure("server_errors", "5xx ratio (server)", "ratio", "lower", _server_errors),
    ServerFigure(
        "queries_per_request", "SQL statements per request", "count", "lower",
        _mean("perflab_db_queries_per_request", _UNANSWERED, by_route=True),
    ),
    ServerFigure("pool_wait_p95", "pool acquire wait p95", "s", "lower", _pool_wait_p95),
    ServerFigure(
        "connections_opened", "Postgres connections opened/s", "conn/s", "lower",
        _connections_opened,
    ),
    ServerFigure(
        "cache_hits_per_request", "cache hits per request", "ratio", "higher",
        _cache_hits_per_request,
    ),
    ServerFigure(
        # From the kernel's count per connection: what SELECT * drags over the wire.
        "db_bytes_per_request", "bytes from Postgres per request", "bytes", "lower",
        _db_bytes_per_request,
    ),
    ServerFigure(
        "bytes_per_response", "bytes per response (wire)", "bytes", "lower",
        _mean("perflab_http_response_size_bytes", _UNANSWERED, by_route=True),
    ),
    ServerFigure(
        "technique_p95", "p95 time in the technique's path", "s", "lower", _technique_p95
    ),
    ServerFigure(
        # Exact, where a sub-millisecond p95 is interpolated inside one histogram bucket.
        "technique_mean", "mean time in the technique's path", "s", "lower", _technique_mean
    ),
    ServerFigure(
        # A CPU-bound path's own cost, free of the scheduler's slices (api/techniques/base.py).
        "technique_cpu_mean", "mean CPU time in the technique's path", "s", "lower",
        _technique_cpu_mean,
    ),
    ServerFigure(
        # Every process's CPU of the service under test over every request it served:
        # what telemetry costs (named for the API, the first service it measured).
        "api_cpu_per_request", "service CPU per request (all processes)", "s", "lower",
        _api_cpu_per_request,
    ),
    ServerFigure(
        # Exact, unlike the sampled maximum below: seconds the loops were late per second.
        "loop_delay", "event-loop delay (s per s, all processes)", "s/s", "lower",
        _loop_delay_share,
    ),
    ServerFigure(
        "service_rss", "service memory (RSS, all processes, at the end)", "bytes", "lower",
        _at_end("perflab_process_resident_memory_bytes", "the service exports no RSS gauge"),
    ),
    ServerFigure(
        "export_buffer_peak", "export buffer peak (mean per export)", "bytes", "lower",
        _mean(
            "perflab_export_buffer_peak_bytes", "no CSV export ran (this traffic makes none)",
            by_variant=True,
        ),
    ),
    ServerFigure(
        # At the arm's end, not its peak: the scrape before the arm's first request (which
        # empties the other variant's memo) may still show the previous arm's entries.
        "memo_entries", "memo entries (all processes, at the end)", "count", "lower",
        _at_end("perflab_memo_entries", "no memo exists (this traffic calls no memoised path)"),
    ),
    ServerFigure(
        # At the arm's end: the other variant's form is dropped at the arm's first request.
        "catalogue_bytes", "in-memory catalogue bytes (all processes, at the end)", "bytes",
        "lower", _at_end("perflab_catalogue_bytes", "no catalogue is held (never asked for)"),
    ),
    ServerFigure(
        "items_examined_per_request", "items examined per search", "count", "lower",
        _items_examined_per_request,
    ),
    ServerFigure(
        # A browser's fresh copy costs no request: what static_files' caching saves.
        "asset_requests_per_page", "asset requests per page view", "count", "lower",
        _asset_requests_per_page,
    ),
)  # fmt: skip
