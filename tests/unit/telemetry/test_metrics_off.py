"""Metrics off (`PERFLAB_TELEMETRY__METRICS_ENABLED=false`): no metric exists or records.

Each case runs in a fresh interpreter: the setting is read once, when
`perflab.telemetry.metrics` is first imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

UPDATE_EVERY_KIND = """
import json
from prometheus_client import REGISTRY
from perflab import technique_metrics as tm
from perflab.telemetry import metrics as m
m.TECHNIQUE_DURATION.labels(technique="n_plus_one", variant="naive").observe(1.0)
m.DB_QUERY_DURATION.observe(0.5)
m.HTTP_REQUESTS.labels(route="/books", method="GET", status_class="2xx").inc()
m.HTTP_IN_PROGRESS.labels(route="/books", method="GET").inc()
m.CELERY_WORKERS_UP.set(1)
m.EVENT_LOOP_LAG.set(3)
with tm.UPSTREAM_IN_PROGRESS.track_inprogress():
    pass
families = [f.name for f in REGISTRY.collect() if f.name.startswith("perflab_")]
recorded = sorted(
    s.name
    for f in REGISTRY.collect()
    if f.name.startswith("perflab_")
    for s in f.samples
    if s.value and not s.name.endswith("_created")
)
print(json.dumps({"enabled": m.ENABLED, "families": len(families), "recorded": recorded}))
"""


def _run(enabled: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env["PERFLAB_TELEMETRY__METRICS_ENABLED"] = str(enabled).lower()
    done = subprocess.run(
        [sys.executable, "-c", UPDATE_EVERY_KIND],
        capture_output=True, text=True, check=True, env=env, timeout=60,
    )  # fmt: skip
    return json.loads(done.stdout)


def test_with_metrics_off_nothing_is_registered_or_recorded() -> None:
    assert _run(enabled=False) == {"enabled": False, "families": 0, "recorded": []}


def test_the_same_updates_record_when_enabled() -> None:
    # The control: the script above does reach every kind of update.
    result = _run(enabled=True)
    assert result["enabled"] is True
    assert {
        "perflab_technique_duration_seconds_count",
        "perflab_db_query_duration_seconds_sum",
        "perflab_http_requests_total",
        "perflab_http_requests_in_progress",
        "perflab_celery_worker_up",
        "perflab_event_loop_lag_seconds",
    } <= set(result["recorded"])
