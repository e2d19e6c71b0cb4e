"""What `lab profile` prints and writes: tables of functions, changes and allocation sites,
on the terminal (rich) and as report.md (the console renders it with the flame graphs)."""

from __future__ import annotations

from pathlib import Path
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


# -- report.md: the same tables as markdown, with the flame graphs, for the console --


NUMERIC = {"own", "total", "own s", "naive", "optimised", "change", "KiB held", "blocks"}


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return ["(no samples)", ""]
    align = ["---:" if h in NUMERIC else "---" for h in header]
    return [_md_row(header), _md_row(align), *(_md_row(r) for r in rows), ""]


def _md_pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def _md_functions(rows: list[dict[str, Any]]) -> list[str]:
    return _md_table(
        ["own", "total", "own s", "function", "where"],
        [
            [_md_pct(r["own_share"]), _md_pct(r["total_share"]), f"{r['own_seconds']:.2f}",
             f"`{r['function']}`", f"**{r['where']}**" if r["lab_code"] else r["where"]]
            for r in rows
        ],
    )  # fmt: skip


def _md_changes(changes: list[dict[str, Any]]) -> list[str]:
    def change(c: dict[str, Any]) -> str:
        text = f"{c['change'] * 100:+.1f} ±{c['noise'] * 100:.1f} pts"
        return f"**{text}**" if c["beyond_noise"] else text

    return _md_table(
        ["naive", "optimised", "change", "function", "where"],
        [
            [_md_pct(c["naive_share"]), _md_pct(c["optimised_share"]), change(c),
             f"`{c['function']}`", c["where"]]
            for c in changes
        ],
    )  # fmt: skip


def _local(path: str, out: Path) -> str:
    """A file of the report as a link relative to its folder (the console rebases it)."""
    return Path(path).resolve().relative_to(out.resolve()).as_posix()


def markdown(summary: dict[str, Any], out: Path) -> str:
    """report.md of a `lab profile` run, from the summary it writes as JSON."""
    target, seconds = summary["target"], summary["seconds"]
    lines: list[str] = []
    if "variants" in summary:
        flag = summary["flag"]
        lines += [f"# Profile: {target}, {flag} naive vs optimised ({seconds} s each)", ""]
        for name, variant in summary["variants"].items():
            lines += [
                f"## {name}: {variant['samples']:,} busy samples",
                "",
                f"Sampled: {variant['sampled']}. "
                f"[speedscope profile]({_local(variant['speedscope'], out)})",
                "",
                f"![{name} flame graph]({_local(variant['flamegraph'], out)})",
                "",
            ]
        lines += [
            "## Functions whose share of samples changed most (total time)",
            "",
            "± is two standard errors of the change; **bold** changes are beyond it.",
            "",
            *_md_changes(summary["changes"]),
            "## The lab's own code",
            "",
            *_md_changes(summary["lab_changes"]),
        ]
    elif "top" in summary:
        lines += [
            f"# Profile: {target}, memory held after {seconds} s (pid {summary['pid']})",
            "",
            f"![memory flame graph]({_local(summary['flamegraph'], out)})",
            "",
            "## Where the memory still held was allocated",
            "",
            *_md_table(
                ["KiB held", "blocks", "allocation site"],
                [[f"{r['bytes'] / 1024:,.1f}", f"{r['blocks']:,}", r["site"]]
                 for r in summary["top"]],
            ),
        ]  # fmt: skip
    else:
        lines += [
            f"# Profile: {target}, CPU for {seconds} s",
            "",
            f"Sampled: {summary['sampled']}; {summary['samples']:,} busy samples, "
            f"{summary['errors']} sampling errors. "
            f"[speedscope profile]({_local(summary['speedscope'], out)})",
            "",
            f"![flame graph]({_local(summary['flamegraph'], out)})",
            "",
            "## Top functions by own time",
            "",
            *_md_functions(summary["top_own"]),
            "## The lab's own code by total time (bold: lab code)",
            "",
            *_md_functions(summary["lab_code_by_total"]),
        ]
    return "\n".join(lines)
