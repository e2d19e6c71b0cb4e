"""Exemplars for the HTTP latency histogram in prometheus_client multiprocess mode.

prometheus_client drops exemplars in multiprocess mode (its files hold one float per
sample; "TODO: Implement exemplars for multiprocess mode" in 0.26). So each process
keeps the latest exemplar per (route, method, bucket) in memory (a dict write per
sampled request) and the runtime sampler writes them once a second to
`exemplars_<pid>.json` in the multiprocess folder (atomic rename; the library reads
`*.db` only). At scrape time `attach` merges every live process's file, newest
exemplar per bucket wins, onto the merged bucket samples (public `Sample`/`Exemplar`
tuples, as a custom collector builds them). Exemplars may thus be one tick old;
counts, sums and buckets are untouched. Dead processes' files go with their live
gauges (multiproc.reap_dead_processes).
"""

from __future__ import annotations

import bisect
import contextlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path

from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Exemplar, Sample
from prometheus_client.utils import floatToGoString

from perflab.telemetry.metrics import LATENCY_BUCKETS

METRIC = "perflab_http_request_duration_seconds"  # telemetry.metrics.HTTP_DURATION
FILE_PREFIX = "exemplars_"
_LE = [floatToGoString(b) for b in LATENCY_BUCKETS] + ["+Inf"]

# (route, method, le) -> (trace_id, value, unix time)
Key = tuple[str, str, str]
Entry = tuple[str, float, float]
_latest: dict[Key, Entry] = {}
_dirty = False


def record(route: str, method: str, seconds: float, trace_id: str) -> None:
    global _dirty
    le = _LE[bisect.bisect_left(LATENCY_BUCKETS, seconds)]
    _latest[(route, method, le)] = (trace_id, seconds, time.time())
    _dirty = True


def file_for(folder: Path, pid: int) -> Path:
    return folder / f"{FILE_PREFIX}{pid}.json"


def flush(folder: Path) -> None:
    """Publish this process's exemplars for the scraping process to merge."""
    global _dirty
    if not _dirty:
        return
    _dirty = False
    rows = [[*key, *entry] for key, entry in list(_latest.items())]
    target = file_for(folder, os.getpid())
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(rows))
    os.replace(tmp, target)


def load(folder: Path) -> dict[Key, Entry]:
    merged: dict[Key, Entry] = {}
    for path in folder.glob(f"{FILE_PREFIX}*.json"):
        with contextlib.suppress(OSError, ValueError):
            for route, method, le, trace_id, value, ts in json.loads(path.read_text()):
                _keep_newest(merged, (route, method, le), (trace_id, value, ts))
    # This process's own dict is fresher than its file (copied: a scrape runs in a
    # worker thread while the loop thread records).
    for key, entry in list(_latest.items()):
        _keep_newest(merged, key, entry)
    return merged


def _keep_newest(merged: dict[Key, Entry], key: Key, entry: Entry) -> None:
    current = merged.get(key)
    if current is None or current[2] < entry[2]:
        merged[key] = entry


def attach(metrics: Iterable[Metric], folder: Path) -> Iterable[Metric]:
    """Put the merged exemplars on the latency histogram's bucket samples."""
    exemplars: dict[Key, Entry] | None = None
    for metric in metrics:
        if metric.name == METRIC:
            exemplars = load(folder) if exemplars is None else exemplars
            metric.samples = [_with_exemplar(s, exemplars) for s in metric.samples]
        yield metric


def _with_exemplar(sample: Sample, exemplars: dict[Key, Entry]) -> Sample:
    if not sample.name.endswith("_bucket"):
        return sample
    labels = sample.labels
    entry = exemplars.get((labels.get("route", ""), labels.get("method", ""), labels.get("le", "")))
    if entry is None:
        return sample
    trace_id, value, ts = entry
    exemplar = Exemplar({"trace_id": trace_id}, value, ts)
    return Sample(sample.name, labels, sample.value, sample.timestamp, exemplar)


def reset() -> None:
    """Forget this process's exemplars (tests)."""
    global _dirty
    _latest.clear()
    _dirty = False
