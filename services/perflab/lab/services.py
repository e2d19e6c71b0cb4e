"""The lab's web services, by the name that labels their series: what the tools iterate.

One entry per service: its Prometheus job, the `Ports` field of its port and the
builder of its lab component. `lab up` starts every entry, `lab smoke` checks every
one, `lab load / experiment --service NAME` aim at one; Prometheus scrapes each as its
job with a `service` target label. Adding a service is one component builder (in
`apps`) and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from perflab.lab import apps
from perflab.lab.components import Component, LabContext
from perflab.lab.config import Ports


@dataclass(frozen=True)
class Service:
    name: str  # the `service` label of its series: fastapi, django, flask
    job: str  # its Prometheus job, also its lab component's name
    port_key: str  # its field of `Ports`
    build: Callable[[LabContext], Component]
    docs_path: str | None = None  # its interactive API docs, if any
    # What marks a worker among its server's child processes: uvicorn's are
    # multiprocessing children beside a resource tracker; gunicorn's master has only them.
    worker_mark: str = ""

    def port(self, ports: Ports) -> int:
        port: int = getattr(ports, self.port_key)
        return port

    def url(self, ports: Ports) -> str:
        return f"http://127.0.0.1:{self.port(ports)}"


SERVICES: tuple[Service, ...] = (
    Service(
        "fastapi",
        job="api",
        port_key="api",
        build=apps.api,
        docs_path="/docs",
        worker_mark="spawn_main",
    ),  # fmt: skip
    Service("django", job="django", port_key="django", build=apps.django),
    Service("flask", job="flask", port_key="flask", build=apps.flask),
)
DEFAULT = "fastapi"  # the service that owns the flags (`PUT /flags`) and the alerts webhook


class UnknownService(ValueError):
    pass


def by_name(name: str) -> Service:
    for service in SERVICES:
        if service.name == name:
            return service
    known = ", ".join(s.name for s in SERVICES)
    raise UnknownService(f"unknown service {name!r}; one of: {known}")


def base_urls(ports: Ports) -> dict[str, str]:
    """Service name -> base URL on this machine."""
    return {service.name: service.url(ports) for service in SERVICES}
