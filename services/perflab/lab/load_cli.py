"""`lab load`'s command: options to a run of `perflab.lab.load`, then its summary and exit code.

The run itself (Locust as a child process, progress, reports) is `perflab.lab.load`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from perflab import catalog
from perflab.lab import load_report
from perflab.lab.load import LoadError, LoadOptions, LoadResult, not_served, run_load


def report(result: LoadResult, console: Console) -> None:
    title = f"load: {result.output.name}"
    console.print(load_report.summary_table(result.rows, result.total, title))
    load_report.print_failures(console, result.failures)
    if result.total is None or result.total.requests == 0:
        console.print(f"[red]no requests were made[/]; see {result.output / 'locust.log'}")
    console.print(f"reports: {result.output} (report.html, locust_*.csv, locust.log)")


def load_command(
    scenario: Annotated[
        str,
        typer.Option(
            "--scenario",
            "-s",
            help="mixed, export, writer, techniques, all, "
            "capacity, or a technique name (e.g. n_plus_one).",
        ),
    ] = "mixed",
    shape: Annotated[
        str | None, typer.Option(help="ramp, step, spike or soak (default: constant users).")
    ] = None,
    users: Annotated[
        int | None, typer.Option("--users", "-u", min=1, help="Users (a shape's peak).")
    ] = None,
    spawn_rate: Annotated[float | None, typer.Option("--spawn-rate", "-r", min=0.1)] = None,
    duration: Annotated[
        str | None,
        typer.Option("--duration", "-t", help="30s, 5m, 1h30m (default 1m; a shape's own)."),
    ] = None,
    service: Annotated[
        str | None,
        typer.Option(help="The web service to load: fastapi, django, ... (default: fastapi)."),
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Base URL to load (default: the lab's --service).")
    ] = None,
    processes: Annotated[
        int, typer.Option(min=-1, help="Locust worker processes (distributed; -1: one per core).")
    ] = 1,
    output: Annotated[
        Path | None, typer.Option(help="Report folder (default results/load-<time>).")
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Load-side /metrics port (default: free).")
    ] = None,
) -> None:
    """Drive load headless with Locust: live progress, a summary table, CSV and HTML reports."""
    from perflab.lab import services
    from perflab.lab.components import LabContext
    from perflab.lab.monitoring import LOADGEN_SD

    ctx = LabContext.load()
    console = Console(width=None if sys.stdout.isatty() else 120)
    try:
        chosen = services.by_name(service or services.DEFAULT)
    except services.UnknownService as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    # A technique the target does not serve would only fail every request.
    if scenario in catalog.TECHNIQUES:
        why = (
            catalog.unmeasurable([scenario], chosen.name)
            if host is None
            else not_served(host, scenario)
        )
        if why:
            console.print(f"[bold red]error:[/] {why}")
            raise typer.Exit(2)
    opts = LoadOptions(
        scenario=scenario, shape=shape, users=users, spawn_rate=spawn_rate, duration=duration,
        host=host or chosen.url(ctx.ports), processes=processes, output=output,
        metrics_port=metrics_port, prometheus_sd=ctx.paths.data("prometheus") / LOADGEN_SD,
        prometheus_url=ctx.url(ctx.ports.prometheus), service=chosen.name,
    )  # fmt: skip
    try:
        result = run_load(opts, console)
    except LoadError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    report(result, console)
    if not result.ok:
        raise typer.Exit(1)
