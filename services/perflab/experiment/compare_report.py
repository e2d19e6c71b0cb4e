"""Writes a comparison's folder: report.md, results.json and one chart per key figure.

Each service's own experiment report sits in its subfolder (`<service>/report.md`).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from perflab.experiment import charts, report  # noqa: E402
from perflab.experiment.compare import Comparison, ServiceRun  # noqa: E402
from perflab.experiment.effects import FigureResult  # noqa: E402
from perflab.experiment.figure_types import improvement  # noqa: E402

A_COLOUR, B_COLOUR = charts.A_COLOUR, charts.B_COLOUR
# Figures every comparison shows, after the technique's own key figure: the client's,
# then the service's CPU per request and memory (exact, from its own /metrics).
SHOWN = ("rps", "p50", "p95", "p99", "api_cpu_per_request", "service_rss")


def shown(comparison: Comparison) -> list[str]:
    key = comparison.technique.key_figure
    return [key, *(name for name in SHOWN if name != key)]


def _figure(run: ServiceRun, name: str) -> FigureResult | None:
    return next((f for f in run.figures if f.name == name), None)


def _value(value: float | None, unit: str) -> str:
    if unit == "s" and value is not None and value < 0.01:  # CPU per request: sub-ms
        return f"{value * 1000:.3f} ms"
    return report.format_value(value, unit)


def _gain(f: FigureResult | None) -> tuple[str, str]:
    """('3.10×', '2.80–3.40×'): the improvement (flag on vs off) and its 95% CI."""
    if f is None or f.estimate is None:
        return "–", "–"
    if f.eliminated:
        return report.NONE_LEFT, "–"
    e = f.estimate
    gain = improvement(e.ratio, f.better)
    ends = [improvement(x, f.better) for x in (e.low, e.high)]
    bounds = [x for x in ends if x is not None]
    ci = f"{min(bounds):.2f}–{max(bounds):.2f}×" if len(bounds) == 2 else "–"
    # "(worse)" only where it shows: 0.999 prints as 1.00×, no change.
    effect = "–" if gain is None else f"{gain:.2f}×" + ("" if gain >= 0.995 else " (worse)")
    return effect, ci


def table(comparison: Comparison) -> str:
    """One row per framework and figure: naive, optimised, improvement and its CI."""
    rows = [
        "| framework | figure | naive (flag off) | optimised (flag on) | improvement | 95% CI |",
        "|---|---|---|---|---|---|",
    ]
    for run in comparison.runs:
        if run.result is None:
            rows.append(f"| {run.service} | – | – | – | – | {run.skipped} |")
            continue
        for name in shown(comparison):
            f = _figure(run, name)
            if f is None:
                continue
            effect, ci = _gain(f)
            a = _value(f.estimate.a, f.unit) if f.estimate else "–"
            b = _value(f.estimate.b, f.unit) if f.estimate else "–"
            key = " (key)" if name == comparison.technique.key_figure else ""
            rows.append(f"| {run.service} | {f.label}{key} | {a} | {b} | {effect} | {ci} |")
    return "\n".join(rows) + "\n"


def _chart(comparison: Comparison, name: str, out: Path) -> str | None:
    measured = [(r.service, _figure(r, name)) for r in comparison.runs if r.result is not None]
    points = [(s, f) for s, f in measured if f is not None and f.estimate is not None]
    if not points:
        return None
    label, unit = points[0][1].label, points[0][1].unit
    scale = 1000 if unit == "s" else (1 / 2**20 if unit == "bytes" else 1)
    shown_unit = {"s": "ms", "bytes": "MiB"}.get(unit, unit)
    xs = range(len(points))
    fig, ax = plt.subplots(figsize=(2.2 * len(points) + 3, 4.5))
    a = [f.estimate.a * scale for _, f in points]  # type: ignore[union-attr]
    b = [f.estimate.b * scale for _, f in points]  # type: ignore[union-attr]
    ax.bar([x - 0.2 for x in xs], a, width=0.4, color=A_COLOUR, label="naive (flag off)")
    ax.bar([x + 0.2 for x in xs], b, width=0.4, color=B_COLOUR, label="optimised (flag on)")
    for x, (_, f) in zip(xs, points, strict=True):
        ax.annotate(_gain(f)[0], (x, max(a[x], b[x])), ha="center", va="bottom")
    ax.set_xticks(list(xs), [s for s, _ in points])
    ax.set_ylabel(f"{label} ({shown_unit})")
    ax.set_title(f"{comparison.technique.name}: {label}, per framework")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    filename = f"{name}.png"
    fig.savefig(out / filename, dpi=110)
    plt.close(fig)
    return filename


def as_json(comparison: Comparison) -> dict[str, Any]:
    services: dict[str, Any] = {}
    for run in comparison.runs:
        entry: dict[str, Any] = {"url": run.url, "skipped": run.skipped}
        if run.result is not None:
            entry["experiment"] = report.as_json(run.result)
            entry["figures"] = {
                f.name: {
                    "label": f.label,
                    "unit": f.unit,
                    "better": f.better,
                    "source": f.source,
                    **({} if f.estimate is None else asdict(f.estimate)),
                    "improvement": improvement(f.estimate.ratio, f.better) if f.estimate else None,
                }
                for f in run.figures
            }
        services[run.service] = entry
    spec = comparison.technique
    return {
        "technique": spec.name,
        "key_figure": spec.key_figure,
        "promise": spec.promise,
        "settings": comparison.settings,
        "services": services,
    }


def write(comparison: Comparison, out: Path) -> str:
    """The report in `out`; returns its summary table (Markdown)."""
    out.mkdir(parents=True, exist_ok=True)
    spec = comparison.technique
    charts = [c for name in shown(comparison) if (c := _chart(comparison, name, out))]
    summary = table(comparison)
    s = comparison.settings
    lines = [
        f"# `{spec.name}` in every framework",
        "",
        f"{spec.summary} (`{spec.method} {spec.path}`). {spec.lesson}",
        "",
        *(
            f"- **{service}**: naive: {impl.naive} Optimised: {impl.optimised}"
            for service, impl in spec.implementations.items()
        ),
        "",
        f"Load: the technique's own Locust user, {s['users']} users "
        f"({report.load_draws(s.get('seed'))}), {s['repeats']}× A/B "
        f"interleaved per framework, {s['duration_seconds']} s measured per arm after "
        f"{s['warmup_seconds']} s warm-up; one framework after the other. Run: "
        f"{time.strftime('%Y-%m-%d %H:%M')}.",
        "",
        "Improvement is flag on vs off in the better direction (>1: the optimised path "
        "wins). Client figures come from every request Locust made; CPU per request and "
        "memory from two scrapes of the service's own /metrics at each arm window's start "
        "and end, its series only (CI over arms). Each framework's full experiment report "
        "is in its folder.",
        "",
        summary,
        *(f"![{chart}]({chart})" for chart in charts),
        "",
        *(f"- [{r.service}]({r.service}/report.md)" for r in comparison.runs if r.result),
        "",
    ]
    (out / "report.md").write_text("\n".join(lines))
    (out / "results.json").write_text(json.dumps(as_json(comparison), indent=2))
    for run in comparison.runs:
        if run.result is not None:
            report.write(run.result, out / run.service)
    return summary
