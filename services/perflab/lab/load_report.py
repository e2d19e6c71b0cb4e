"""What `lab load` reads back from Locust's CSV reports and prints: the summary table.

Locust writes `<prefix>_stats.csv` (one row per request name plus "Aggregated") and
`<prefix>_failures.csv` (one row per distinct error). Latencies are milliseconds.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

STATS_SUFFIX = "_stats.csv"
FAILURES_SUFFIX = "_failures.csv"


@dataclass(frozen=True)
class StatRow:
    method: str
    name: str
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


@dataclass(frozen=True)
class Failure:
    method: str
    name: str
    error: str
    occurrences: int


def _number(value: str | None) -> float:
    try:
        return float(value) if value not in (None, "", "N/A") else 0.0
    except ValueError:
        return 0.0


def read_stats(prefix: Path) -> tuple[list[StatRow], StatRow | None]:
    """Per-name rows and the aggregated row; empty when Locust wrote no report."""
    path = prefix.with_name(prefix.name + STATS_SUFFIX)
    if not path.exists():
        return [], None
    rows, total = [], None
    with path.open(newline="") as handle:
        for rec in csv.DictReader(handle):
            row = StatRow(
                method=rec.get("Type") or "",
                name=rec.get("Name") or "",
                requests=int(_number(rec.get("Request Count"))),
                failures=int(_number(rec.get("Failure Count"))),
                rps=_number(rec.get("Requests/s")),
                p50_ms=_number(rec.get("50%")),
                p95_ms=_number(rec.get("95%")),
                p99_ms=_number(rec.get("99%")),
                max_ms=_number(rec.get("Max Response Time")),
            )
            if row.name == "Aggregated":
                total = row
            else:
                rows.append(row)
    return rows, total


def read_failures(prefix: Path) -> list[Failure]:
    path = prefix.with_name(prefix.name + FAILURES_SUFFIX)
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return [
            Failure(
                method=rec.get("Method") or "",
                name=rec.get("Name") or "",
                error=rec.get("Error") or "",
                occurrences=int(_number(rec.get("Occurrences"))),
            )
            for rec in csv.DictReader(handle)
        ]


def summary_table(rows: list[StatRow], total: StatRow | None, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("request")
    for column in ("requests", "failures", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="right")

    def cells(row: StatRow) -> list[str]:
        failed = f"[red]{row.failures}[/]" if row.failures else "0"
        return [
            f"{row.requests}", failed, f"{row.rps:.1f}",
            f"{row.p50_ms:.0f}", f"{row.p95_ms:.0f}", f"{row.p99_ms:.0f}", f"{row.max_ms:.0f}",
        ]  # fmt: skip

    for row in sorted(rows, key=lambda r: (r.name, r.method)):
        table.add_row(f"{row.method} {row.name}", *cells(row))
    if total is not None:
        table.add_section()
        table.add_row("[bold]total[/]", *cells(total))
    return table


def print_failures(console: Console, failures: list[Failure], limit: int = 10) -> None:
    for failure in sorted(failures, key=lambda f: -f.occurrences)[:limit]:
        what = escape(f"{failure.method} {failure.name}: {failure.error}")
        console.print(f"[red]✗[/] {failure.occurrences} × {what}", highlight=False)
    if len(failures) > limit:
        console.print(f"… and {len(failures) - limit} more kinds of failure (see the CSV)")


def as_json(rows: list[StatRow], total: StatRow | None, failures: list[Failure]) -> dict[str, Any]:
    return {
        "requests": [asdict(row) for row in rows],
        "total": asdict(total) if total else None,
        "failures": [asdict(failure) for failure in failures],
    }
