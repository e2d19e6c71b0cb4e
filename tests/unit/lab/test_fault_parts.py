"""`lab fault`'s pieces that need no stack: which routes a service is probed on, and
which answers count as the fault's own effect."""

from __future__ import annotations

from collections import Counter

from perflab.lab.fault_cli import verdict
from perflab.lab.fault_probe import ROUTES, routes_for
from perflab.lab.faults import FaultReport


def _paths(service: str) -> set[str]:
    return {route for _, route, _ in routes_for(service)}


def test_each_service_is_probed_on_the_routes_it_serves():
    assert routes_for("fastapi") == ROUTES
    # Both confirm orders through the worker (background_offload), so a fault's lost
    # tasks are counted too; only Django also has /authors/{id} (prepared_statements).
    served = {"/books/{id}", "/genres/top-rated", "/flags", "/orders/{id}/confirm"}
    assert _paths("django") == served | {"/authors/{id}"}
    assert _paths("flask") == served


def _report(fault: str, **kinds: int) -> FaultReport:
    errors = Counter({("/books/{id}", kind.replace("_", " ")): n for kind, n in kinds.items()})
    return FaultReport(fault, 4.0, 100, errors, 0.0, 0, 0, 0)


def test_only_named_503s_and_a_killed_worker_s_connections_are_expected():
    assert verdict(_report("postgres", **{"503 postgres": 5})) == []
    assert verdict(_report("api-worker", connection_reset=2, connection_refused=1)) == []
    # A service that does not answer within the probe's patience is a problem, as is a
    # 503 that names nobody, a 500 or a dropped connection when no process was killed.
    assert verdict(_report("postgres", timeout=3)) == ["3 answer(s) timeout"]
    assert verdict(_report("redis", **{"503 unnamed": 1})) == ["1 answer(s) 503 unnamed"]
    assert verdict(_report("postgres", **{"500": 2})) == ["2 answer(s) 500"]
    assert verdict(_report("postgres", connection_reset=1)) == ["1 answer(s) connection reset"]
