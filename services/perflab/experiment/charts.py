"""An experiment's PNG charts: client latency CDF (A vs B) and the run's timeline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if TYPE_CHECKING:
    from perflab.experiment.result import Result

A_COLOUR, B_COLOUR = "#d62728", "#2ca02c"


def write(result: Result, out: Path) -> list[str]:
    return [_distribution(result, out), _timeline(result, out)]


def _distribution(result: Result, out: Path) -> str:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for label, colour, title in (("A", A_COLOUR, "A: flag off"), ("B", B_COLOUR, "B: flag on")):
        values = np.sort(
            [s.seconds * 1000 for a in result.arms if a.label == label for s in a.measured()]
        )
        if values.size:
            ax.plot(values, np.arange(1, values.size + 1) / values.size, color=colour, label=title)
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel("fraction of requests ≤ x")
    ax.set_title(f"{result.config.flag}: client latency distribution (measured windows)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "latency_distribution.png", dpi=110)
    plt.close(fig)
    return "latency_distribution.png"


def _timeline(result: Result, out: Path) -> str:
    """Requests/s and p95 per second over the whole run, one load throughout: the flips
    dashed, each arm's measured window shaded in its colour."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    samples = result.samples
    if samples:
        t0 = samples[0].at
        secs = np.array([s.at - t0 for s in samples])
        lat = np.array([s.seconds * 1000 for s in samples])
        edges = np.arange(0, np.ceil(secs.max()) + 2)
        counts, _ = np.histogram(secs, bins=edges)
        idx = np.digitize(secs, edges) - 1
        p95 = [
            np.percentile(lat[idx == i], 95) if np.any(idx == i) else np.nan
            for i in range(len(edges) - 1)
        ]
        top.step(edges[:-1], counts, where="post", color="black", linewidth=0.8)
        bottom.step(edges[:-1], p95, where="post", color="black", linewidth=0.8)
        for arm in result.arms:
            colour = B_COLOUR if arm.enabled else A_COLOUR
            for axis in (top, bottom):
                axis.axvline(arm.started - t0, color="grey", linestyle="--", linewidth=0.8)
                axis.axvspan(arm.measured_from - t0, arm.ended - t0, color=colour, alpha=0.15)
    top.set_ylabel("requests/s")
    bottom.set_ylabel("p95 per second (ms)")
    bottom.set_xlabel("seconds since the first request (dashed: flip; shaded: measured window)")
    top.set_title(f"{result.config.flag}: A (red, off) vs B (green, on) under one load")
    for axis in (top, bottom):
        axis.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "timeline.png", dpi=110)
    plt.close(fig)
    return "timeline.png"
