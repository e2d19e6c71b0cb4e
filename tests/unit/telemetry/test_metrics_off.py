"""`metrics.disable()`: with metrics off, no metric records anything.

Each case runs in a fresh interpreter: disabling is for a process's whole life.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

UPDATE_EVERY_KIND = """
import json
from prometheus_client import REGISTRY
from perflab.telemetry import metrics as m
if {disable}:
    m.disable()
m.TECHNIQUE_DURATION.labels(technique="n_plus_one", variant="naive").observe(1.0)
m.DB_QUERY_DURATION.observe(0.5)
m.HTTP_REQUESTS.labels(route="/books", method="GET", status_class="2xx").inc()
m.HTTP_IN_PROGRESS.labels(route="/books", method="GET").inc()
m.CELERY_WORKERS_UP.set(1)
m.EVENT_LOOP_LAG.set(3)
with m.UPSTREAM_IN_PROGRESS.track_inprogress():
    inside = [s.value for f in m.UPSTREAM_IN_PROGRESS.collect() for s in f.samples]
recorded = sorted(
    s.name
    for f in REGISTRY.collect()
    if f.name.startswith("perflab_")
    for s in f.samples
    if s.value and not s.name.endswith("_created")
)
print(json.dumps({{"recorded": recorded, "inside": inside}}))
"""


def _run(disable: bool) -> dict[str, list]:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    done = subprocess.run(
        [sys.executable, "-c", UPDATE_EVERY_KIND.format(disable=disable)],
        capture_output=True, text=True, check=True, env=env, timeout=60,
    )  # fmt: skip
    return json.loads(done.stdout)


def test_disabled_metrics_record_nothing() -> None:
    assert _run(disable=True) == {"recorded": [], "inside": [0.0]}


def test_the_same_updates_record_when_enabled() -> None:
    # The control: the script above does reach every kind of update.
    result = _run(disable=False)
    assert result["inside"] == [1.0]
    assert {
        "perflab_technique_duration_seconds_count",
        "perflab_db_query_duration_seconds_sum",
        "perflab_http_requests_total",
        "perflab_http_requests_in_progress",
        "perflab_celery_worker_up",
        "perflab_event_loop_lag_seconds",
    } <= set(result["recorded"])


OWN_THE_LOOP = """
from perflab.telemetry import metrics, tally
if {disable}:
    metrics.disable()
tally.own_this_thread()
print(tally.enabled(), tally._owner is not None)
"""


def test_disabled_metrics_never_route_updates_to_tallies(tmp_path) -> None:
    # A tally writes the child's values itself, past disable(): no owner thread then.
    env = os.environ | {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for disable, owned in ((True, "False"), (False, "True")):
        done = subprocess.run(
            [sys.executable, "-c", OWN_THE_LOOP.format(disable=disable)],
            capture_output=True, text=True, check=True, env=env, timeout=60,
        )  # fmt: skip
        assert done.stdout.split() == ["True", owned]
