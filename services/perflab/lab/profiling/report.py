"""What `lab profile` prints and writes: tables of functions, changes and allocation sites."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from perflab.profile.speedscope import Change, FunctionRow


def _pct(share: float) -> str:
    return f"{share * 100:5.1f}%"


def _where(row_where: str, lab: bool) -> str:
    return f"[bold cyan]{row_where}[/]" if lab else row_where


def functions_table(rows: list[FunctionRow], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("own", justify="right")
    table.add_column("total", justify="right")
    table.add_column("own s", justify="right")
    table.add_column("function")
    table.add_column("where (lab code in cyan)")
    for row in rows:
        table.add_row(
            _pct(row.own_share), _pct(row.total_share), f"{row.own_seconds:.2f}",
            row.name, _where(row.where, row.lab_code),
        )  # fmt: skip
    return table


def changes_table(changes: list[Change], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("naive", "optimised", "change"):
        table.add_column(column, justify="right")
    table.add_column("function")
    table.add_column("where")
    for change in changes:
        # A move within the sampling noise is shown, dimmed: it could be luck.
        style = ("red" if change.delta > 0 else "green") if change.beyond_noise else "dim"
        table.add_row(
            _pct(change.before), _pct(change.after),
            f"[{style}]{change.delta * 100:+.1f} ±{change.noise * 100:.1f} pts[/]", change.name,
            _where(change.where, change.where.startswith("perflab/")),
        )  # fmt: skip
    return table


def memory_table(data: dict[str, Any], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("KiB held", justify="right")
    table.add_column("blocks", justify="right")
    table.add_column("allocation site")
    for row in data["top"]:
        site = row["site"]
        table.add_row(
            f"{row['bytes'] / 1024:,.1f}", f"{row['blocks']:,}",
            _where(site, site.startswith("perflab/")),
        )  # fmt: skip
    return table


def function_dicts(rows: list[FunctionRow]) -> list[dict[str, Any]]:
    return [
        {
            "function": r.name,
            "where": r.where,
            "lab_code": r.lab_code,
            "own_seconds": round(r.own_seconds, 4),
            "total_seconds": round(r.total_seconds, 4),
            "own_share": round(r.own_share, 4),
            "total_share": round(r.total_share, 4),
        }
        for r in rows
    ]


def change_dicts(changes: list[Change]) -> list[dict[str, Any]]:
    return [
        {
            "function": c.name,
            "where": c.where,
            "naive_share": round(c.before, 4),
            "optimised_share": round(c.after, 4),
            "change": round(c.delta, 4),
            "noise": round(c.noise, 4),
            "beyond_noise": c.beyond_noise,
        }
        for c in changes
    ]
