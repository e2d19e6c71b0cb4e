"""Load-side metrics: Locust's statistics exposed as Prometheus series, over real HTTP."""

from __future__ import annotations

import httpx
from loadgen.metrics import BUCKETS, build_registry, histogram_buckets, start_exporter
from locust import FastHttpUser, task
from locust.env import Environment
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from perflab.procs import free_port
from perflab.telemetry.metrics import LATENCY_BUCKETS


class _Idle(FastHttpUser):
    host = "http://127.0.0.1:9"

    @task
    def nothing(self) -> None:  # never runs: the tests log requests by hand
        pass


def _environment() -> Environment:
    env = Environment(user_classes=[_Idle])
    env.create_local_runner()
    return env


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_client_latency_uses_the_servers_buckets():
    assert BUCKETS == LATENCY_BUCKETS


def test_histogram_buckets_are_cumulative_and_end_with_inf():
    buckets = histogram_buckets({0: 1, 1: 2, 3: 1, 40: 1, 20000: 1})
    as_dict = dict(buckets)
    assert as_dict["0.001"] == 3 and as_dict["0.005"] == 4 and as_dict["0.05"] == 5
    assert as_dict["10.0"] == 5 and as_dict["+Inf"] == 6
    counts = [count for _, count in buckets]
    assert counts == sorted(counts)


def test_requests_failures_and_latency_per_name_and_method():
    env = _environment()
    for ms in (4, 4, 30, 700):
        env.stats.log_request("GET", "/books/{book_id}", ms, 100)
    env.stats.log_error("GET", "/books/{book_id}", "boom")
    env.stats.log_request("POST", "/orders/bulk", 12, 10)
    samples = _samples(generate_latest(build_registry(env)).decode())
    book = (("method", "GET"), ("name", "/books/{book_id}"))
    assert samples[("perflab_loadgen_requests_total", book)] == 4
    assert samples[("perflab_loadgen_failures_total", book)] == 1
    assert samples[("perflab_loadgen_request_duration_seconds_count", book)] == 4
    assert abs(samples[("perflab_loadgen_request_duration_seconds_sum", book)] - 0.738) < 1e-9
    bucket = "perflab_loadgen_request_duration_seconds_bucket"
    assert samples[(bucket, (("le", "0.005"), *book))] == 2
    assert samples[(bucket, (("le", "0.5"), *book))] == 3
    bulk = (("method", "POST"), ("name", "/orders/bulk"))
    assert samples[("perflab_loadgen_requests_total", bulk)] == 1
    assert samples[("perflab_loadgen_failures_total", bulk)] == 0
    assert samples[("perflab_loadgen_users", ())] == 0
    assert samples[("perflab_loadgen_workers", ())] == 0
    assert ("perflab_loadgen_process_cpu_seconds_total", ()) in samples


def test_the_exporter_serves_metrics_on_loopback():
    env = _environment()
    env.stats.log_request("GET", "/books", 5, 10)
    port = free_port()
    server = start_exporter(env, port)
    assert server is not None
    try:
        assert server.server_address[0] == "127.0.0.1"
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'perflab_loadgen_requests_total{method="GET",name="/books"} 1.0' in text
        # A port already taken is reported, not fatal: the load still runs.
        assert start_exporter(env, port) is None
    finally:
        server.shutdown()
        server.server_close()
    assert start_exporter(env, 0) is None


def test_a_run_label_sets_each_runs_series_apart():
    env = _environment()
    env.stats.log_request("GET", "/books", 5, 10)
    samples = _samples(generate_latest(build_registry(env, run="load-1")).decode())
    run = ("run", "load-1")
    assert samples[("perflab_loadgen_requests_total", (("method", "GET"), ("name", "/books"), run))]
    assert ("perflab_loadgen_users", (run,)) in samples
