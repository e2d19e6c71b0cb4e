"""Locust plugin for experiments: every request's timing, appended to a CSV file.

Loaded next to the lab's locustfile (`-f loadgen/locustfile.py,<this file>`). Locust's
own stats keep only rounded histograms; the experiment's bootstrap needs raw samples.
Columns: unix time, request name, response time (ms), response bytes, failed (0/1),
the answer's `X-Technique-Variant` (so a window can tell a flip not yet seen). The
first request also creates `<file>.started`: the experiment waits for it.
"""

from __future__ import annotations

import csv
import os
import time
from typing import Any

from locust import events

_PATH = os.environ.get("PERFLAB_SAMPLES_FILE")
_STARTED = os.path.splitext(_PATH)[0] + ".started" if _PATH else None
_rows: list[tuple[float, str, float, int, int, str]] = []


@events.request.add_listener
def _on_request(
    name: str,
    response_time: float,
    response_length: int,
    exception: Any,
    response: Any = None,
    **_: Any,
) -> None:
    if not _PATH:
        return
    headers = getattr(response, "headers", None)
    variant = (headers.get("x-technique-variant") if headers else None) or ""
    _rows.append(
        (time.time(), name, response_time, response_length or 0, int(bool(exception)), variant)
    )
    if len(_rows) == 1 and _STARTED:
        open(_STARTED, "w").close()


@events.quitting.add_listener
def _write(**_: Any) -> None:
    if not _PATH:
        return
    with open(_PATH, "w", newline="") as out:
        csv.writer(out).writerows(_rows)
