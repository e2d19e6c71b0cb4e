"""`lab fault`'s figures as Prometheus series, scraped while the run lasts.

The run serves them on a free loopback port and announces it to the lab's Prometheus
like a load run does (file_sd, `<state>/prometheus/lab/`), so a fault shows on the
dashboards next to what the services did: `perflab_fault_active` is 1 while the
component is down (draw it as a band), the rest are the report's figures.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from perflab.lab.faults import FaultReport


class FaultExporter:
    def __init__(self, fault: str) -> None:
        self.fault = fault
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.active = Gauge(
            "perflab_fault_active", "1 while the component is down.", ["component"], registry=reg
        )
        self.injections = Counter(
            "perflab_fault_injections_total", "Faults injected by lab fault.", ["component"],
            registry=reg,
        )  # fmt: skip
        self.requests = Counter(
            "perflab_fault_requests_total",
            "Probe requests during a fault, by route and kind of answer (ok, 503 <dependency>, "
            "500, connection refused/reset, timeout).",
            ["component", "route", "kind"],
            registry=reg,
        )
        self.recovery = Gauge(
            "perflab_fault_recovery_seconds",
            "From the component being back to the service's last error.",
            ["component"],
            registry=reg,
        )
        self.tasks = Gauge(
            "perflab_fault_tasks",
            "Tasks enqueued during the fault run, completed exactly once, and lost.",
            ["component", "state"],
            registry=reg,
        )
        self.active.labels(component=fault).set(0)
        self._server: Any = None

    def start(self) -> int:
        self._server, _ = start_http_server(0, "127.0.0.1", self.registry)
        return int(self._server.server_port)

    def phase(self, name: str) -> None:
        if name == "down":
            self.injections.labels(component=self.fault).inc()
        self.active.labels(component=self.fault).set(1 if name == "down" else 0)

    def report(self, report: FaultReport) -> None:
        for (route, kind), count in report.errors.items():
            self.requests.labels(component=self.fault, route=route, kind=kind).inc(count)
        errors = sum(report.errors.values())
        self.requests.labels(component=self.fault, route="all", kind="ok").inc(
            report.requests - errors
        )
        self.recovery.labels(component=self.fault).set(report.recovery_seconds)
        for state, value in (
            ("enqueued", report.tasks_enqueued),
            ("completed", report.tasks_completed),
            ("lost", report.tasks_lost),
        ):
            self.tasks.labels(component=self.fault, state=state).set(value)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
