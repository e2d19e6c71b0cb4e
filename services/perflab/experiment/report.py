"""Writes an experiment's folder: report.md, results.json and PNG charts."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from perflab.experiment.figures import improvement  # noqa: E402
from perflab.experiment.runner import FigureResult, Result, key_figure  # noqa: E402

A_COLOUR, B_COLOUR = "#d62728", "#2ca02c"


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "s":
        return f"{value * 1000:.2f} ms"
    if unit == "bytes":
        for scale, suffix in ((1 << 20, "MiB"), (1 << 10, "KiB")):
            if abs(value) >= scale:
                return f"{value / scale:.1f} {suffix}"
        return f"{value:.0f} B"
    if unit == "ratio":
        return f"{value:.3f}"
    if unit == "count":
        return f"{value:.2f}"
    return f"{value:,.0f} {unit}" if abs(value) >= 100 else f"{value:.3g} {unit}"


def verdict(result: Result) -> str:
    figure, expected = key_figure(result)
    flag = result.config.flag
    if figure is None or figure.estimate is None:
        return f"{flag}: no verdict — the key figure had no data in one of the arms."
    est = figure.estimate
    gain = improvement(est.ratio, figure.better)  # type: ignore[arg-type]
    lo = improvement(est.high if figure.better == "lower" else est.low, figure.better)  # type: ignore[arg-type]
    hi = improvement(est.low if figure.better == "lower" else est.high, figure.better)  # type: ignore[arg-type]
    if gain is None:
        if est.ratio == 0:  # B is zero: e.g. no asset request at all with the flag on
            return f"{flag} on: {figure.label} drops to zero; no finite ratio."
        return f"{flag}: {figure.label} is zero in arm A; no ratio."
    ci = f" (95% CI {lo:.2f}–{hi:.2f}×)" if lo is not None and hi is not None else ""
    # Always an improvement factor (>1: the flag helps), so the CI reads the same way.
    worse = " (worse)" if gain < 1 else ""
    line = f"{flag} on: {figure.label} improvement {gain:.2f}×{worse}{ci}"
    if expected is not None:
        met = lo is not None and lo >= expected if ci else gain >= expected
        line += f" — expected ≥ {expected:g}×: {'met' if met else 'MISSED'}"
    elif lo is not None and hi is not None and lo <= 1 <= hi:
        line += " — not distinguishable from no change"
    return line + "."


def _figure_rows(figures: list[FigureResult]) -> list[str]:
    rows = [
        "| figure | source | A (flag off) | B (flag on) | B/A | 95% CI of B/A | better | n (A/B) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        e = f.estimate
        if e is None:
            rows.append(f"| {f.label} | {f.source} | – | – | – | – | {f.better} | {f.note} |")
            continue
        ci = f"{e.low:.3f}–{e.high:.3f}" if e.low is not None and e.high is not None else "–"
        ratio = f"{e.ratio:.3f}" if e.ratio is not None else "–"
        rows.append(
            f"| {f.label} | {f.source} | {_fmt(e.a, f.unit)} | {_fmt(e.b, f.unit)} | {ratio} "
            f"| {ci} | {f.better} | {e.n_a}/{e.n_b} |"
        )
    return rows


def write(result: Result, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    charts = _charts(result, out)
    cfg = result.config
    t = result.technique
    lines = [
        f"# Experiment: `{cfg.flag}` on {cfg.service}",
        "",
        f"**Verdict:** {verdict(result)}",
        "",
        f"- Technique: {t.get('summary', '')} (`{t.get('method')} {t.get('path')}`)",
        f"- A = flag off: {t.get('naive', '')}",
        f"- B = flag on: {t.get('optimised', '')}",
        f"- Load: scenario `{cfg.scenario or cfg.flag}`, {cfg.users} users, "
        f"{cfg.repeats}× A/B interleaved, {cfg.duration_seconds} s measured per arm after "
        f"{cfg.warmup_seconds} s warm-up",
        f"- Run: {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(result.started))}, "
        f"{result.ended - result.started:.0f} s",
        "",
        "Client figures use every request Locust made (bootstrap over requests; RPS over "
        "seconds). Server figures come from Prometheus, one value per arm window, so their "
        "interval is over the repeats and is wide with few repeats.",
        "",
        *_figure_rows(result.figures),
        "",
        *(f"![{name}]({name})" for name in charts),
        "",
    ]
    (out / "report.md").write_text("\n".join(lines))
    (out / "results.json").write_text(json.dumps(as_json(result), indent=2))


def as_json(result: Result) -> dict[str, Any]:
    return {
        "config": asdict(result.config) | {"admin_token": None},
        "technique": result.technique,
        "started": result.started,
        "ended": result.ended,
        "verdict": verdict(result),
        "arms": [
            {
                "label": arm.label,
                "repeat": arm.repeat,
                "flag_enabled": arm.enabled,
                "measured_from": arm.measured_from,
                "ended": arm.ended,
                "requests": len(arm.measured()),
                "failures": sum(s.failed for s in arm.measured()),
                "server": result.server.get(f"{arm.label}{arm.repeat}", {}),
            }
            for arm in result.arms
        ],
        "figures": {
            f.name: {
                "label": f.label,
                "unit": f.unit,
                "better": f.better,
                "source": f.source,
                "note": f.note,
                **({} if f.estimate is None else asdict(f.estimate)),
                "improvement": improvement(f.estimate.ratio, f.better) if f.estimate else None,  # type: ignore[arg-type]
            }
            for f in result.figures
        },
    }


def _charts(result: Result, out: Path) -> list[str]:
    names = []
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
    ax.set_title(f"{result.config.flag}: client latency distribution")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "latency_distribution.png", dpi=110)
    plt.close(fig)
    names.append("latency_distribution.png")

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    t0 = result.arms[0].started if result.arms else result.started
    for arm in result.arms:
        colour = B_COLOUR if arm.enabled else A_COLOUR
        secs = np.array([s.at - t0 for s in arm.samples])
        lat = np.array([s.seconds * 1000 for s in arm.samples])
        if secs.size == 0:
            continue
        bins = np.arange(np.floor(secs.min()), np.ceil(secs.max()) + 1)
        counts, edges = (
            np.histogram(secs, bins=bins)
            if bins.size > 1
            else (np.array([secs.size]), np.array([secs.min(), secs.min() + 1]))
        )
        top.step(edges[:-1], counts, where="post", color=colour)
        idx = np.digitize(secs, edges) - 1
        p95 = [
            np.percentile(lat[idx == i], 95) if np.any(idx == i) else np.nan
            for i in range(len(edges) - 1)
        ]
        bottom.step(edges[:-1], p95, where="post", color=colour)
        for axis in (top, bottom):
            axis.axvline(arm.started - t0, color="grey", linestyle="--", linewidth=0.8)
            axis.axvspan(arm.measured_from - t0, arm.ended - t0, color=colour, alpha=0.08)
    top.set_ylabel("requests/s")
    bottom.set_ylabel("p95 per second (ms)")
    bottom.set_xlabel("seconds since start (dashed: flag flip; shaded: measured window)")
    top.set_title(f"{result.config.flag}: A (red, off) vs B (green, on) over time")
    for axis in (top, bottom):
        axis.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "timeline.png", dpi=110)
    plt.close(fig)
    names.append("timeline.png")
    return names


def _summary_row(result: Result) -> str:
    figure, expected = key_figure(result)
    flag = f"`{result.config.flag}`"
    if figure is None or figure.estimate is None:
        return f"| {flag} | – | – | – | no data | – | – |"
    e = figure.estimate
    gain = improvement(e.ratio, figure.better)  # type: ignore[arg-type]
    ends = [improvement(x, figure.better) for x in (e.low, e.high)]  # type: ignore[arg-type]
    bounds = [x for x in ends if x is not None]
    ci = f"{min(bounds):.2f}–{max(bounds):.2f}×" if len(bounds) == 2 else "–"
    if expected is None:
        exp = "–"
    else:
        met = len(bounds) == 2 and min(bounds) >= expected
        exp = f"≥ {expected:g}× " + ("met" if met else "**missed**")
    effect = "–" if gain is None else f"{gain:.2f}×" + ("" if gain >= 1 else " (worse)")
    return (
        f"| {flag} | {figure.label} | {_fmt(e.a, figure.unit)} | {_fmt(e.b, figure.unit)} "
        f"| {effect} | {ci} | {exp} |"
    )


def write_summary(results: list[Result], out: Path) -> str:
    lines = [
        "| technique | key figure | flag off (A) | flag on (B) | improvement | 95% CI | expected |",
        "|---|---|---|---|---|---|---|",
        *(_summary_row(result) for result in results),
    ]
    table = "\n".join(lines)
    out.mkdir(parents=True, exist_ok=True)
    services = ", ".join(dict.fromkeys(r.config.service for r in results))
    (out / "summary.md").write_text(
        f"# perflab: every technique of {services}, A/B\n\n" + table + "\n"
    )
    (out / "summary.json").write_text(json.dumps([as_json(r) for r in results], indent=2))
    return table
