"""`lab fault COMPONENT [--for SECONDS]`: one fault on the running lab, and its report."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from perflab.lab import fault_compose, services
from perflab.lab.components import LabContext
from perflab.lab.fault_metrics import FaultExporter
from perflab.lab.faults import FAULTS, FaultReport, Injection, native_injection, run_fault
from perflab.lab.load import seconds
from perflab.lab.monitoring import LAB_SD
from perflab.lab.prom_targets import prometheus_target
from perflab.lab.services import Service
from perflab.lab.stack import Stack
from perflab.procs import StartError


def report_table(report: FaultReport) -> Table:
    title = f"fault: {report.component} (probing {report.service})"
    table = Table(title=title, title_justify="left")
    for column in ("route", "answer", "count"):
        table.add_column(column)
    for (route, kind), count in sorted(report.errors.items()):
        style = "red" if kind.startswith("5") and not kind.startswith("503 ") else "yellow"
        table.add_row(route, f"[{style}]{kind}[/]", str(count))
    if not report.errors:
        table.add_row("all", "[green]no error[/]", "")
    return table


def verdict(report: FaultReport) -> list[str]:
    """What went wrong beyond what the fault must cause (empty: the service behaved)."""
    problems = [
        f"{count} answer(s) {kind}"
        for kind, count in report.errors_by_kind().items()
        if not expected(kind, report.component)
    ]
    if report.tasks_lost:
        problems.append(f"{report.tasks_lost} task(s) lost")
    if report.counters_went_back:
        problems.append(f"counters went back: {', '.join(report.counters_went_back)}")
    return problems


def expected(kind: str, fault: str) -> bool:
    """A 503 naming its dependency; and, when a worker process of the service is killed,
    the connections it held (nothing else, a timeout included, is acceptable)."""
    if kind.startswith("503 ") and kind != "503 unnamed":
        return True
    return fault == "api-worker" and kind in ("connection reset", "connection refused")


def fault_command(
    component: Annotated[str, typer.Argument(help=f"One of: {', '.join(FAULTS)}.")],
    for_: Annotated[
        str, typer.Option("--for", help="How long it stays down (10s, 1m); not for *-child.")
    ] = "10s",
    rate: Annotated[float, typer.Option(min=1, help="Probe requests per second.")] = 20.0,
    service: Annotated[
        str,
        typer.Option(help="The web service the probe loads: fastapi, django or flask (native)."),
    ] = services.DEFAULT,
    docker: Annotated[bool, typer.Option("--docker", help="Fault the compose stack.")] = False,
    output: Annotated[Path | None, typer.Option(help="Also write the report as JSON.")] = None,
) -> None:
    """Kill one component under steady probe traffic, bring it back, report what happened."""
    console = Console(width=None if sys.stdout.isatty() else 120)
    if component not in FAULTS:
        console.print(
            f"[red]error:[/] unknown component {component!r}; one of: {', '.join(FAULTS)}"
        )
        raise typer.Exit(2)
    try:
        chosen = services.by_name(service)
    except services.UnknownService as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    if docker and chosen.name != services.DEFAULT:
        console.print("[red]error:[/] --service is for the native lab; --docker probes the API")
        raise typer.Exit(2)
    down = seconds(for_)
    ctx = LabContext.load()
    token = os.environ.get("PERFLAB_ADMIN_TOKEN")
    stack = None
    try:
        if docker:
            api = fault_compose.api_url()
            report = run_fault(ctx, component, fault_compose.injection(component), down,
                               rate=rate, token=token, api_url=api,
                               metrics_urls=[f"{api}/metrics"], say=console.print)  # fmt: skip
        else:
            stack = Stack(ctx)
            injection = native_injection(ctx, stack.components, component, chosen)
            report = _native_run(ctx, component, chosen, injection, down, rate, token, console)
    except (StartError, fault_compose.DockerError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    finally:
        if stack is not None:
            stack.close()
    console.print(report_table(report))
    console.print(
        f"requests {report.requests}, down {report.down_seconds:.1f} s, recovered "
        f"{report.recovery_seconds:.1f} s after it was back; tasks: {report.tasks_enqueued} "
        f"enqueued, {report.tasks_completed} completed exactly once, {report.tasks_lost} lost"
    )
    if output is not None:
        output.write_text(json.dumps(report.as_dict(), indent=2))
    problems = verdict(report)
    if problems:
        console.print(f"[bold red]fault {component}: {'; '.join(problems)}[/]")
        raise typer.Exit(1)
    console.print(f"[bold green]fault {component}: no unexpected answer, 0 lost[/]")


def _native_run(
    ctx: LabContext, component: str, service: Service, injection: Injection, down: float,
    rate: float, token: str | None, console: Console,
) -> FaultReport:  # fmt: skip
    exporter = FaultExporter(component)
    port = exporter.start()
    run = f"fault-{component}-{datetime.now():%Y%m%d-%H%M%S}"
    folder = ctx.paths.data("prometheus") / LAB_SD
    prometheus = ctx.url(ctx.ports.prometheus)
    try:
        with prometheus_target(folder, port, run, prometheus):
            report = run_fault(ctx, component, injection, down, rate=rate, token=token,
                               service=service,
                               dsn=ctx.service_settings().db.dsn, say=console.print,
                               on_phase=exporter.phase)  # fmt: skip
            exporter.report(report)
            # Two scrapes, so the figures are in Prometheus before the target goes.
            time.sleep(2.5 * seconds(ctx.cfg.lab.scrape_interval))
    finally:
        exporter.close()
    return report
