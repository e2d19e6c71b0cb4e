"""Exact window figures from two scrapes: deltas, Prometheus-style quantiles, reasons."""

from __future__ import annotations

import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from perflab.experiment.figure_types import Scope
from perflab.experiment.scrape import (
    DB_BYTES,
    DB_CONNECTIONS,
    Delta,
    Scraper,
    Snapshot,
    Target,
    bucket_quantile,
    parse,
)
from perflab.experiment.server_figures import SERVER_FIGURES

SCOPE = Scope(route="/books", technique="n_plus_one")
FIGURES = {f.name: f for f in SERVER_FIGURES}


class FakeApi:
    """The API's metric families, as the lab names them, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "perflab_http_requests", "", ["route", "method", "status_class"], registry=r
        )
        self.duration = Histogram(
            "perflab_http_request_duration_seconds", "", ["route", "method"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1), registry=r,
        )  # fmt: skip
        self.queries = Histogram(
            "perflab_db_queries_per_request", "", ["route"],
            buckets=(0, 1, 2, 3, 5, 10, 20, 50, 100, 200), registry=r,
        )  # fmt: skip
        self.pool = Histogram("perflab_db_pool_acquire_seconds", "", registry=r)
        self.exports = Histogram("perflab_export_buffer_peak_bytes", "", ["variant"], registry=r)

    def snapshot(self, at: float) -> Snapshot:
        text = generate_latest(self.registry).decode()
        return Snapshot(at=at, samples=parse(text, "api", {"service": "fastapi"}))

    def serve(self, n: int, seconds: float, statements: int, status: str = "2xx") -> None:
        for _ in range(n):
            self.requests.labels("/books", "GET", status).inc()
            self.duration.labels("/books", "GET").observe(seconds)
            self.queries.labels("/books").observe(statements)


def test_a_window_counts_only_what_happened_inside_it():
    api = FakeApi()
    api.serve(500, 0.040, 101)  # before the window: another arm
    start = api.snapshot(at=100.0)
    api.serve(90, 0.004, 2)
    api.serve(10, 0.008, 2, status="5xx")
    end = api.snapshot(at=104.0)
    d = Delta(start, end)
    assert d.seconds == 4.0
    assert FIGURES["server_rps"].read(d, SCOPE) == (25.0, "")
    assert FIGURES["queries_per_request"].read(d, SCOPE)[0] == 2.0
    assert FIGURES["server_errors"].read(d, SCOPE)[0] == pytest.approx(0.1)
    # p95 rank 95 of 100: 90 in (0.0025, 0.005], 10 in (0.005, 0.01] -> 5/10 of the way.
    assert FIGURES["server_p95"].read(d, SCOPE)[0] == pytest.approx(0.0075)


def test_a_figure_the_traffic_does_not_touch_says_why():
    api = FakeApi()
    start = api.snapshot(at=0.0)
    api.serve(30, 0.004, 2)
    d = Delta(start, api.snapshot(at=3.0))
    value, why = FIGURES["pool_wait_p95"].read(d, SCOPE)
    assert value is None and "pool" in why
    value, why = FIGURES["export_buffer_peak"].read(d, SCOPE)
    assert value is None and "export" in why
    other = Scope(route="/genres/top-rated", technique="response_cache")
    value, why = FIGURES["server_p95"].read(d, other)
    assert value is None and "/genres/top-rated" in why
    # A count that stayed at zero is a value, not a gap.
    assert FIGURES["connections_opened"].read(d, SCOPE) == (0.0, "")


def test_series_born_in_the_window_and_restarted_counters_count_from_zero():
    start = Snapshot(at=0, samples={("c_total", frozenset({("job", "api")})): 50.0})
    end = Snapshot(
        at=1,
        samples={
            ("c_total", frozenset({("job", "api")})): 7.0,  # restarted: 7 since
            ("c_total", frozenset({("job", "worker")})): 3.0,  # born inside
        },
    )
    d = Delta(start, end)
    assert d.total("c_total") == 10.0
    assert d.total("c_total", job="worker") == 3.0


def test_bucket_quantile_follows_prometheus():
    inf = math.inf
    # Linear inside the bucket that holds the rank; the first bucket starts at 0.
    assert bucket_quantile(0.5, {1.0: 10, 2.0: 20, inf: 20}) == pytest.approx(1.0)
    assert bucket_quantile(0.25, {1.0: 10, 2.0: 20, inf: 20}) == pytest.approx(0.5)
    assert bucket_quantile(0.75, {1.0: 10, 2.0: 20, inf: 20}) == pytest.approx(1.5)
    # A rank in +Inf answers the highest finite bound.
    assert bucket_quantile(0.99, {1.0: 10, 2.0: 20, inf: 40}) == 2.0
    # A first bucket with an upper bound of 0 answers 0 (statements per request of a hit).
    assert bucket_quantile(0.95, {0.0: 100, 1.0: 100, inf: 100}) == 0.0
    assert bucket_quantile(0.95, {1.0: 0, inf: 0}) is None
    assert bucket_quantile(0.95, {}) is None


def test_figures_read_only_the_service_under_test_not_another_on_the_same_route():
    """Two services serving /books and the worker, scraped into one window: each
    service's figures come from its own series (its `service` label) alone."""
    fastapi, flask, worker = FakeApi(), FakeApi(), CollectorRegistry()
    opened = Counter("perflab_db_connections_opened", "", ["kind"], registry=worker)

    def snapshot(at: float) -> Snapshot:
        samples = parse(generate_latest(fastapi.registry).decode(), "api", {"service": "fastapi"})
        samples |= parse(generate_latest(flask.registry).decode(), "flask", {"service": "flask"})
        samples |= parse(generate_latest(worker).decode(), "worker")
        return Snapshot(at=at, samples=samples)

    start = snapshot(0.0)
    fastapi.serve(40, 0.004, 2)
    flask.serve(10, 0.040, 101)
    opened.labels("direct").inc(7)  # the worker's connections belong to no service
    d = Delta(start, snapshot(2.0))
    on_flask = Scope(route="/books", technique="n_plus_one", service="flask")
    assert FIGURES["server_rps"].read(d, SCOPE) == (20.0, "")
    assert FIGURES["server_rps"].read(d, on_flask) == (5.0, "")
    assert FIGURES["queries_per_request"].read(d, SCOPE)[0] == 2.0
    assert FIGURES["queries_per_request"].read(d, on_flask)[0] == 101.0
    # Rank 9.5 of its 10 in (0.025, 0.05]; mixed with the 40 fast ones it would be 0.04375.
    assert FIGURES["server_p95"].read(d, on_flask)[0] == pytest.approx(0.04875)
    assert FIGURES["connections_opened"].read(d, on_flask) == (0.0, "")
    nobody = Scope(route="/books", technique="n_plus_one", service="django")
    assert FIGURES["server_p95"].read(d, nobody)[0] is None


def _with_db_bytes(snap: Snapshot, received: dict[str, int]) -> Snapshot:
    """The samples Scraper adds from the kernel's per-connection counts."""
    labels = {"service": "fastapi", "job": "api"}
    snap.samples[(DB_CONNECTIONS, frozenset(labels.items()))] = len(received)
    for local, value in received.items():
        snap.samples[(DB_BYTES, frozenset({**labels, "connection": local}.items()))] = value
    return snap


def test_bytes_from_postgres_per_request_count_every_open_connection():
    api, read = FakeApi(), FIGURES["db_bytes_per_request"].read
    start = _with_db_bytes(api.snapshot(at=0.0), {"a:1": 5_000, "a:2": 7_000})
    api.serve(10, 0.004, 1)
    # One pooled connection received 60,000 bytes, the other 20,000, and one the pool
    # opened inside the window 1,000: 81,000 bytes over 10 requests.
    end = _with_db_bytes(api.snapshot(at=4.0), {"a:1": 65_000, "a:2": 27_000, "a:3": 1_000})
    assert read(Delta(start, end), SCOPE) == (8_100.0, "")


def test_bytes_from_postgres_are_no_value_when_a_connection_closed_or_none_was_read():
    api, read = FakeApi(), FIGURES["db_bytes_per_request"].read
    start = _with_db_bytes(api.snapshot(at=0.0), {"a:1": 5_000, "a:2": 7_000})
    api.serve(10, 0.004, 1)
    end = _with_db_bytes(api.snapshot(at=4.0), {"a:1": 65_000})  # a:2's bytes left with it
    value, why = read(Delta(start, end), SCOPE)
    assert value is None
    assert why == "1 Postgres connection(s) closed inside the window, bytes and all"
    # Not on this machine (or no `ss`): no samples at all, and the reason says so.
    value, why = read(Delta(api.snapshot(at=0.0), api.snapshot(at=4.0)), SCOPE)
    assert value is None and "does not run on this machine" in why
    # Processes seen, but none of their connections (a container's are in another network
    # namespace): not "0 bytes".
    value, why = read(Delta(_with_db_bytes(api.snapshot(at=0.0), {}),
                            _with_db_bytes(api.snapshot(at=4.0), {})), SCOPE)  # fmt: skip
    assert (
        value is None and why == "no Postgres connection of fastapi's processes was seen from here"
    )
    # A connection opened and closed inside the window leaves only the service's counter.
    opened = Counter("perflab_db_connections_opened", "", registry=api.registry)
    start = _with_db_bytes(api.snapshot(at=0.0), {"a:1": 5_000})
    opened.inc(3)
    end = _with_db_bytes(api.snapshot(at=4.0), {"a:1": 6_000, "a:4": 100})  # one still open
    value, why = read(Delta(start, end), SCOPE)
    assert value is None and why.startswith("2 Postgres connection(s) closed")


def test_a_cpu_bound_path_reads_its_cpu_time_and_an_awaiting_one_says_it_has_none():
    registry = CollectorRegistry()
    labels = ["technique", "variant"]
    wall = Histogram("perflab_technique_duration_seconds", "", labels, registry=registry)
    cpu = Histogram("perflab_technique_cpu_seconds", "", labels, registry=registry)

    def snapshot(at: float) -> Snapshot:
        text = generate_latest(registry).decode()
        return Snapshot(at=at, samples=parse(text, "api", {"service": "fastapi"}))

    start = snapshot(0.0)
    # The second call was preempted for a 12 ms slice: its wall time, not its CPU time.
    for wall_seconds, cpu_seconds in ((0.0003, 0.00028), (0.0123, 0.0003)):
        wall.labels("fast_json", "optimised").observe(wall_seconds)
        cpu.labels("fast_json", "optimised").observe(cpu_seconds)
    wall.labels("fast_json", "naive").observe(0.004)  # the other arm's: not this one's
    wall.labels("n_plus_one", "optimised").observe(0.002)
    d = Delta(start, snapshot(4.0))
    fast_json = Scope(route="/books/dump", technique="fast_json", variant="optimised")
    assert FIGURES["technique_cpu_mean"].read(d, fast_json) == (pytest.approx(0.00029), "")
    assert FIGURES["technique_mean"].read(d, fast_json)[0] == pytest.approx(0.0063)
    awaiting = Scope(route="/books", technique="n_plus_one", variant="optimised")
    value, why = FIGURES["technique_cpu_mean"].read(d, awaiting)
    assert value is None and "only the wall time" in why
    idle = Scope(route="/books", technique="n_plus_one", variant="naive")
    value, why = FIGURES["technique_cpu_mean"].read(d, idle)
    assert value is None and "never ran" in why


class _CountingHandler(BaseHTTPRequestHandler):
    """`/metrics` over HTTP/1.1 keep-alive, counting the connections it is asked on."""

    protocol_version = "HTTP/1.1"
    connections = 0

    def handle(self) -> None:  # once per connection, then one handle_one_request each
        type(self).connections += 1
        super().handle()

    def do_GET(self) -> None:
        body = b"perflab_http_requests_total 1\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_each_scrape_opens_its_own_connection():
    # A kept-alive connection that the service closes as the next scrape is sent is
    # reset; a new one per scrape cannot be.
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scraper = Scraper([Target("api", f"http://127.0.0.1:{server.server_port}/metrics")])
    try:
        snapshots = [scraper.snapshot() for _ in range(3)]
    finally:
        scraper.close()
        server.shutdown()
        server.server_close()
    assert all(not s.missing and s.samples for s in snapshots)
    assert _CountingHandler.connections == 3
