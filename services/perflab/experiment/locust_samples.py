"""Locust plugin for experiments: every request's timing, appended to a CSV file.

Loaded next to the lab's locustfile (`-f loadgen/locustfile.py,<this file>`). Locust's
own stats keep only rounded histograms; the experiment's bootstrap needs raw samples.
Columns: unix time, request name, response time (ms), response bytes, failed (0/1).
"""

from __future__ import annotations

import csv
import os
import time
from typing import Any

from locust import constant, events

_PATH = os.environ.get("PERFLAB_SAMPLES_FILE")
# Think time of every user, in seconds; unset keeps each class's own wait_time. The
# experiment uses 0 (closed loop) so throughput differences show.
_THINK = os.environ.get("PERFLAB_THINK_SECONDS")
_rows: list[tuple[float, str, float, int, int]] = []


@events.init.add_listener
def _set_think_time(environment: Any, **_: Any) -> None:
    if _THINK is None:
        return
    for user_class in environment.user_classes:
        user_class.wait_time = constant(float(_THINK))


@events.request.add_listener
def _on_request(
    name: str, response_time: float, response_length: int, exception: Any, **_: Any
) -> None:
    if _PATH:
        _rows.append((time.time(), name, response_time, response_length or 0, int(bool(exception))))


@events.quitting.add_listener
def _write(**_: Any) -> None:
    if not _PATH:
        return
    with open(_PATH, "w", newline="") as out:
        csv.writer(out).writerows(_rows)
