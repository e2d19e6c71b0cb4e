"""The servers benchmark's report: a table (text and Markdown), results.json and charts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

COLOURS = {"flask": "#1f77b4", "fastapi": "#2ca02c", "django": "#9467bd"}
CHARTS = {
    "throughput.png": ("rps", "requests/s (higher is better)"),
    "cpu_per_request.png": ("cpu_ms_per_request", "CPU ms per request, all server processes"),
    "memory.png": ("rss_mb", "resident memory, MiB, all server processes"),
}
_COLUMNS = ("req/s", "p50 ms", "p95 ms", "p99 ms", "CPU ms/req", "RSS MiB", "sock err")


def _row(case: dict[str, Any]) -> tuple[str, ...]:
    return (
        f"{case['rps']:.0f}",
        f"{case['p50_ms']:.2f}",
        f"{case['p95_ms']:.2f}",
        f"{case['p99_ms']:.2f}",
        f"{case['cpu_ms_per_request']:.3f}",
        f"{case['rss_mb']:.0f}",
        f"{case['socket_errors']:.0f}",
    )


def _setup(report: dict[str, Any]) -> str:
    m = report["machine"]
    return (
        f"{report['date']}, {m['cpu']} ({m['cores']} cores, {m['memory_gb']} GB), Python "
        f"{m['python']}; {report['endpoint']}, {report['connections']} connections, "
        f"{report['duration_s']:.0f} s x {report['rounds']} interleaved rounds (medians), "
        f"1 worker process per server (gthread: {report['threads']} threads), "
        f"pinned={report['pinned']}, telemetry off"
    )


def render(report: dict[str, Any]) -> str:
    lines = [_setup(report), f"{'configuration':<62}" + "".join(f"{c:>11}" for c in _COLUMNS)]
    for name, case in report["cases"].items():
        lines.append(f"{name:<62}" + "".join(f"{v:>11}" for v in _row(case)))
    lines += [f"skipped: {name} ({why})" for name, why in report["skipped"].items()]
    return "\n".join(lines) + "\n"


def markdown(report: dict[str, Any]) -> str:
    head = "| configuration | " + " | ".join(_COLUMNS) + " |"
    rows = [head, "|---" * (len(_COLUMNS) + 1) + "|"]
    for name, case in report["cases"].items():
        rows.append(f"| {name} | " + " | ".join(_row(case)) + " |")
    skipped = [f"- skipped: {name} ({why})" for name, why in report["skipped"].items()]
    return "\n".join([*rows, "", *skipped]).rstrip() + "\n"


def _bar_chart(report: dict[str, Any], key: str, title: str, out: Path) -> None:
    names = list(report["cases"])
    values = [report["cases"][n][key] for n in names]
    colours = [COLOURS.get(report["cases"][n]["framework"], "grey") for n in names]
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(names) + 1.5))
    ax.barh(names, values, color=colours)
    ax.invert_yaxis()
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)
    for y, value in enumerate(values):
        ax.annotate(f"{value:,.2f}" if value < 10 else f"{value:,.0f}", (value, y), va="center")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _latency_chart(report: dict[str, Any], out: Path) -> None:
    names = list(report["cases"])
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(names) + 1.5))
    height = 0.27
    for offset, (key, label) in enumerate(
        (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99"))
    ):
        ys = [i + (offset - 1) * height for i in range(len(names))]
        ax.barh(ys, [report["cases"][n][key] for n in names], height=height, label=label)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_title("latency (ms, log scale; lower is better)")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def write(report: dict[str, Any], out: Path) -> list[str]:
    """report.md, results.json and one PNG per figure in `out`; returns the charts."""
    out.mkdir(parents=True, exist_ok=True)
    charts = []
    for name, (key, title) in CHARTS.items():
        _bar_chart(report, key, title, out / name)
        charts.append(name)
    _latency_chart(report, out / "latency.png")
    charts.append("latency.png")
    text = [
        "# perflab: servers side by side",
        "",
        _setup(report),
        "",
        markdown(report),
        *(f"![{chart}]({chart})" for chart in charts),
        "",
    ]
    (out / "report.md").write_text("\n".join(text))
    (out / "results.json").write_text(json.dumps(report, indent=2))
    return charts
