"""Runtime: memory, CPU, GC, event-loop lag and file descriptors of every process."""

from __future__ import annotations

from typing import Any

from perflab.dashboards import queries as q
from perflab.dashboards.common import dashboard, finish, flag_state, prom, stat, timeseries

UID = "perflab-runtime"


def build() -> dict[str, Any]:
    legend = q.PROCESS_LEGEND
    builder = (
        dashboard(UID, "perflab / Runtime", "Per-process RSS, CPU, GC, event-loop lag, open fds.")
        .with_panel(
            stat("Processes reporting", "short", prom(q.PROCESSES, "{{job}}"), width=6, height=9)
        )
        .with_panel(flag_state(width=18))
        .with_panel(
            timeseries(
                "Resident memory per process",
                "bytes",
                prom(q.RSS, legend),
                description="streaming_export off builds the whole CSV in memory: watch the peak.",
            )
        )
        .with_panel(
            timeseries(
                "CPU per process",
                "percentunit",
                prom(q.CPU, legend),
                description="CPU seconds per second (1 = one core busy).",
            )
        )
        .with_panel(
            timeseries(
                "Event-loop lag per process (worst in each second)",
                "s",
                prom(q.LOOP_LAG, legend),
                description="A blocking call on the loop (async_io / cpu_offload off) shows here.",
            )
        )
        .with_panel(
            timeseries(
                "GC collections per second by generation",
                "ops",
                prom(q.GC_BY_GENERATION, "{{job}} gen {{generation}}"),
            )
        )
        .with_panel(
            timeseries("Open file descriptors per process", "short", prom(q.OPEN_FDS, legend))
        )
        .with_panel(
            timeseries("Largest resident memory by job", "bytes", prom(q.RSS_MAX, "{{job}}"))
        )
    )
    return finish(builder)
