"""One `/metrics` answer for several processes (uvicorn workers, Celery processes).

prometheus_client multiprocess mode: every process writes its samples to mmap files
`<type>[_<mode>]_<pid>.db` in `PROMETHEUS_MULTIPROC_DIR` (wiped by the runner at
start) and the scraping process merges them all. Counters and histograms of a dead
process stay in its files and keep counting in the merged totals: a restart never
makes a counter go backwards. `live*` gauges of a dead process must be removed with
`mark_process_dead(pid)`, which normally runs in a child-exit hook; uvicorn
`--workers N` has none (nor has a Celery pool process killed by a signal). So
`reap_dead_processes` runs at every scrape: every pid owning `gauge_live*` files
that is no longer alive is marked dead (and its exemplar file removed). A pid reused
by an unrelated process would keep its files until that process ends: harmless, as
live gauges of a pid are only ever written by that pid.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from perflab.procs import pid_alive
from perflab.telemetry import exemplars

ENV = "PROMETHEUS_MULTIPROC_DIR"
_LIVE_FILE = re.compile(r"^gauge_live[a-z]+_(\d+)\.db$")
_EXEMPLAR_FILE = re.compile(rf"^{exemplars.FILE_PREFIX}(\d+)\.json$")


def folder() -> Path | None:
    """The multiprocess folder of this process, or None in single-process mode."""
    value = os.environ.get(ENV)
    return Path(value) if value else None


def reap_dead_processes(path: Path) -> list[int]:
    """Drop the live gauges (and exemplars) of processes that are gone; return their pids."""
    pids: set[int] = set()
    exemplar_pids: set[int] = set()
    for entry in os.listdir(path):
        if match := _LIVE_FILE.match(entry):
            pids.add(int(match.group(1)))
        elif match := _EXEMPLAR_FILE.match(entry):
            exemplar_pids.add(int(match.group(1)))
    dead = sorted(pid for pid in pids | exemplar_pids if not pid_alive(pid, reap=False))
    for pid in dead:
        mark_process_dead(pid, str(path))
        with contextlib.suppress(FileNotFoundError):
            exemplars.file_for(path, pid).unlink()
    return dead


class MergedCollector(Collector):
    """Every process's files merged by the library, after reaping the dead, plus the
    exemplar side channel. Reaps on each collect, so a registry built once (e.g. for
    `prometheus_client.start_http_server`) stays correct."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def collect(self) -> Iterable[Metric]:
        reap_dead_processes(self.path)
        files = [str(p) for p in self.path.glob("*.db")]
        return exemplars.attach(MultiProcessCollector.merge(files, accumulate=True), self.path)


def registry() -> CollectorRegistry:
    """What `/metrics` exposes: the merged files, or this process's own registry."""
    path = folder()
    if path is None:
        return REGISTRY
    merged = CollectorRegistry(auto_describe=False)
    merged.register(MergedCollector(path))
    return merged


def render(accept: str | None) -> tuple[bytes, str]:
    """Body and content type for a scrape; OpenMetrics (with exemplars) when asked for."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry()), content_type
