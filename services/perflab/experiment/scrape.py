"""Exact server figures of an arm window: the service's and worker's `/metrics`, scraped
directly at the window's start and end, and the difference of the two.

Each sample gets its target's `job` and labels, as Prometheus adds target labels: the
service under test's samples carry its `service` label (fastapi, django, flask), so a
figure selects that service's series and never another's that serves the same route.

Counters and histograms only grow, so end − start is exactly what happened inside the
window, whatever its length: no Prometheus scrape interval to wait for, no `increase()`
extrapolation. Parsed with prometheus_client's own parser. Quantiles interpolate
linearly inside the bucket that holds the rank, as Prometheus' `histogram_quantile` does.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

# A sample's identity: its name and its labels (the target it came from included).
Key = tuple[str, frozenset[tuple[str, str]]]
# The service's processes' CPU seconds read from the OS at the scrape (when it runs here).
API_CPU = "experiment_api_cpu_seconds"
# Bytes the service's processes received from Postgres, one series per connection (its
# local address), and how many such connections were open: read from the kernel.
DB_BYTES = "experiment_db_bytes_received"
DB_CONNECTIONS = "experiment_db_connections_open"


@dataclass(frozen=True)
class Target:
    name: str  # its Prometheus job ("api", "django", "flask", "worker"): the `job` label
    url: str  # the full /metrics URL
    labels: Mapping[str, str] = field(default_factory=dict)  # added to each sample


@dataclass
class Snapshot:
    at: float
    samples: dict[Key, float] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # target -> why it gave nothing


def parse(text: str, job: str, labels: Mapping[str, str] | None = None) -> dict[Key, float]:
    """Every sample of an exposition, with the target's `job` and `labels` added."""
    out: dict[Key, float] = {}
    extra = {**(labels or {}), "job": job}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset({**sample.labels, **extra}.items()))] = float(sample.value)
    return out


# A new connection per request: the services close an idle keep-alive connection after
# 2 s (gunicorn) or 5 s (uvicorn), and a request sent over one as it closes is reset
# (seen on Flask's /metrics between two arms). Windows are seconds apart: the cost is nil.
FRESH_CONNECTIONS = httpx.Limits(max_keepalive_connections=0)


class Scraper:
    def __init__(
        self,
        targets: list[Target],
        api_cpu: Callable[[], float | None] | None = None,
        db_bytes: Callable[[], dict[str, int] | None] | None = None,
        timeout: float = 10.0,
    ) -> None:
        """`api_cpu`: the CPU seconds of the first target's processes (the service under
        test), read from the OS; `db_bytes`: the bytes each of their Postgres connections
        has received. Those samples get that target's job and labels."""
        self.targets = targets
        self.api_cpu = api_cpu
        self.db_bytes = db_bytes
        self.client = httpx.Client(timeout=timeout, limits=FRESH_CONNECTIONS)

    def snapshot(self) -> Snapshot:
        snap = Snapshot(at=time.time())
        for target in self.targets:
            try:
                answer = self.client.get(target.url)
                answer.raise_for_status()
            except httpx.HTTPError as exc:
                snap.missing[target.name] = f"{target.url} did not answer ({exc})"
                continue
            snap.samples.update(parse(answer.text, target.name, target.labels))
        service = self.targets[0]
        labels = {**service.labels, "job": service.name}
        cpu = self.api_cpu() if self.api_cpu else None
        if cpu is not None:
            snap.samples[(API_CPU, frozenset(labels.items()))] = cpu
        received = self.db_bytes() if self.db_bytes else None
        if received is not None:
            snap.samples[(DB_CONNECTIONS, frozenset(labels.items()))] = len(received)
            for local, value in received.items():
                key = (DB_BYTES, frozenset({**labels, "connection": local}.items()))
                snap.samples[key] = value
        # The window is the moment between the two scrapes' ends: taken after reading.
        snap.at = time.time()
        return snap

    def close(self) -> None:
        self.client.close()


class Delta:
    """What grew between two snapshots, with selectors by name and label values."""

    def __init__(self, start: Snapshot, end: Snapshot) -> None:
        self.seconds = max(end.at - start.at, 1e-9)
        self.missing = {**start.missing, **end.missing}
        self.end = end.samples
        # Series the start had and the end lacks (a closed connection's bytes, say), and
        # series only the end has (a connection opened inside the window).
        self.gone = {key for key in start.samples if key not in end.samples}
        self.born = {key for key in end.samples if key not in start.samples}
        self.values: dict[Key, float] = {}
        for key, value in end.samples.items():
            # A series born inside the window started at 0; a restart (value fell) counts
            # from 0 again, as Prometheus' increase() assumes.
            before = start.samples.get(key, 0.0)
            self.values[key] = value - before if value >= before else value

    def _matching(self, name: str, labels: Mapping[str, str]) -> list[tuple[dict[str, str], float]]:
        wanted = labels.items()
        return [
            (dict(key_labels), value)
            for (sample, key_labels), value in self.values.items()
            if sample == name and all(item in key_labels for item in wanted)
        ]

    def has(self, name: str) -> bool:
        return any(sample == name for sample, _ in self.values)

    def total(self, name: str, **labels: str) -> float:
        """Sum of every matching series' increase (0 when none grew or none exist)."""
        return sum(value for _, value in self._matching(name, labels))

    def at_end(self, name: str, **labels: str) -> float | None:
        """Sum of the matching gauges' values at the window's end; None if none exist."""
        wanted = labels.items()
        found = [
            value
            for (sample, key_labels), value in self.end.items()
            if sample == name and all(item in dict(key_labels).items() for item in wanted)
        ]
        return sum(found) if found else None

    def quantile(self, q: float, histogram: str, **labels: str) -> float | None:
        """The q-quantile of what a histogram observed in the window; None if nothing."""
        buckets: dict[float, float] = {}
        for sample_labels, value in self._matching(f"{histogram}_bucket", labels):
            le = float(sample_labels["le"])
            buckets[le] = buckets.get(le, 0.0) + value
        return bucket_quantile(q, buckets)


def bucket_quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """Prometheus' histogram_quantile over cumulative bucket counts (upper bound -> count).

    The rank q·total falls in one bucket; the answer interpolates linearly between that
    bucket's bounds (the first bucket's lower bound is 0, or the answer is its upper
    bound when that is 0 or less); a rank beyond every finite bucket answers the highest
    finite bound. None when the histogram observed nothing.
    """
    if math.inf not in buckets or len(buckets) < 2:
        return None
    bounds = sorted(buckets)
    total = buckets[math.inf]
    if total <= 0:
        return None
    rank = q * total
    finite = bounds[:-1]
    index = next((i for i, le in enumerate(finite) if buckets[le] >= rank), None)
    if index is None:
        return finite[-1]
    upper = finite[index]
    if index == 0 and upper <= 0:
        return upper
    lower = finite[index - 1] if index > 0 else 0.0
    below = buckets[lower] if index > 0 else 0.0
    inside = buckets[upper] - below
    if inside <= 0:
        return upper
    return lower + (upper - lower) * (rank - below) / inside
