"""The traffic `lab fault` sends while a component is down, and what it saw.

A few threads call representative routes at a steady rate: a Postgres read, a
Redis-backed read (the cached leaderboard), the flags (memory), and the order
confirmation (a Celery task when background_offload is on). Each answer is sorted
by kind: `ok`, `503 <dependency>` (the only acceptable error while a dependency is
down), `500`, another status, or a transport error (refused, reset, timeout). Task
ids of 202 answers are kept, to check afterwards that each task ran. The API's and
the worker's request and task counters are sampled too: they must never go back.
"""

from __future__ import annotations

import itertools
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

from perflab.catalog import implemented_by

Route = tuple[str, str, int]
# (method, route template, id range): small ids exist at every seed scale.
ROUTES: tuple[Route, ...] = (
    ("GET", "/books/{id}", 20),
    ("GET", "/authors/{id}", 20),
    ("GET", "/genres/top-rated", 0),
    ("GET", "/flags", 0),
    ("POST", "/orders/{id}/confirm", 200),
)
# Longer than any service's own wait for a dependency (connect and pool timeouts, 5 s),
# so the probe records the service's answer (a 503 after that wait), not its own timeout.
PROBE_TIMEOUT_SECONDS = 10.0
EVERY_SERVICE = {"/flags"}  # not a technique: each service reads the shared flags


def routes_for(service: str) -> tuple[Route, ...]:
    """The probe routes `service` serves (by its techniques in the catalog)."""
    served = {
        (spec.method, re.sub(r"\{[^}]+\}", "{id}", spec.path))
        for spec in implemented_by(service).values()
    }
    return tuple(r for r in ROUTES if r[1] in EVERY_SERVICE or (r[0], r[1]) in served)


COUNTERS = ("perflab_http_requests_total", "perflab_celery_tasks_total")


def kind_of(answer: httpx.Response) -> str:
    if answer.status_code < 400:
        return "ok"
    if answer.status_code == 503:
        try:
            return f"503 {answer.json().get('dependency') or 'unnamed'}"
        except ValueError:
            return "503 unnamed"
    return str(answer.status_code)


def transport_kind(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused"
    return "connection reset"  # RemoteProtocolError, ReadError: the process died mid-answer


@dataclass
class Tally:
    """Everything the probe saw, by time (`time.monotonic()`)."""

    answers: Counter[tuple[str, str]] = field(default_factory=Counter)  # (route, kind)
    error_times: list[float] = field(default_factory=list)
    task_ids: list[str] = field(default_factory=list)
    counter_samples: list[dict[str, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, route: str, kind: str) -> None:
        with self.lock:
            self.answers[(route, kind)] += 1
            if kind != "ok":
                self.error_times.append(time.monotonic())

    @property
    def requests(self) -> int:
        return sum(self.answers.values())

    def errors(self) -> Counter[tuple[str, str]]:
        return Counter({key: n for key, n in self.answers.items() if key[1] != "ok"})

    def counters_went_back(self) -> list[str]:
        """Counter names whose total fell between two samples (none, if all is well)."""
        fell = []
        for before, after in itertools.pairwise(self.counter_samples):
            fell += [name for name, value in after.items() if value < before.get(name, 0)]
        return sorted(set(fell))


def counter_totals(url: str) -> dict[str, float]:
    """The sum of each of COUNTERS at a /metrics endpoint ({} when it does not answer)."""
    try:
        text = httpx.get(url, timeout=3).text
    except httpx.HTTPError:
        return {}
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in COUNTERS:
                totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
    return totals


class Probe:
    """Background traffic: start(), then stop() returns the tally."""

    def __init__(
        self,
        api: str,
        metrics_urls: list[str],
        *,
        rate: float = 20.0,
        threads: int = 3,
        token: str | None = None,
        routes: tuple[Route, ...] = ROUTES,
    ) -> None:
        self.api = api
        self.routes = routes
        self.metrics_urls = metrics_urls
        self.interval = threads / rate
        self.threads = threads
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.tally = Tally()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def start(self) -> Probe:
        for n in range(self.threads):
            self._workers.append(threading.Thread(target=self._traffic, args=(n,), daemon=True))
        self._workers.append(threading.Thread(target=self._sample_counters, daemon=True))
        for worker in self._workers:
            worker.start()
        return self

    def stop(self) -> Tally:
        self._stop.set()
        # No limit: each request is bounded by PROBE_TIMEOUT_SECONDS, and the tally must
        # not be read while a thread may still add to it.
        for worker in self._workers:
            worker.join()
        return self.tally

    def _traffic(self, seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(
            base_url=self.api, headers=self.headers, timeout=PROBE_TIMEOUT_SECONDS
        ) as http:
            for method, route, ids in itertools.cycle(self.routes):
                if self._stop.is_set():
                    return
                path = route.replace("{id}", str(rng.randint(1, ids))) if ids else route
                try:
                    answer = http.request(method, path)
                except httpx.TransportError as exc:
                    self.tally.record(route, transport_kind(exc))
                else:
                    self.tally.record(route, kind_of(answer))
                    if answer.status_code == 202:
                        with self.tally.lock:
                            self.tally.task_ids.append(answer.json()["task_id"])
                self._stop.wait(self.interval)

    def _sample_counters(self) -> None:
        while not self._stop.wait(1.0):
            totals: dict[str, float] = {}
            for url in self.metrics_urls:
                for name, value in counter_totals(url).items():
                    totals[name] = totals.get(name, 0.0) + value
            if totals:
                self.tally.counter_samples.append(totals)
