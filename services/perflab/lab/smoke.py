"""`lab smoke`: is a running stack (native or compose) healthy end to end?

For every web service (FastAPI, Django, ...), in order: `/healthz` and `/readyz`
(naming Postgres or Redis when one is down); every technique its `/techniques` lists,
called with its flag off and on (the answer must be right and come from the variant
the flag asks for); a flip reaching every process of that service (its `GET /flags`)
and its `/metrics` (`perflab_flag_enabled`). Then every Prometheus target `up`, the
console's page, and a short Locust burst with zero failures against each service (its
reports in a temp folder that is removed after). Flags are always flipped through the
API and put back as they were, even when a check fails. Prints a checklist; a failure
names its component.

The HTTP checks are `smoke_checks`, the Locust burst `smoke_burst`; this module runs
them in order (`run_smoke`) and is the `lab smoke` command.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.markup import escape

from perflab.lab.flags_client import FlagsClient
from perflab.lab.smoke_burst import check_burst
from perflab.lab.smoke_checks import (
    Check,
    check_console,
    check_health,
    check_prometheus,
    check_propagation,
    check_techniques,
)


@contextmanager
def _restoring(flags: FlagsClient) -> Iterator[None]:
    """Whatever happens, every flag ends as it was before the smoke test."""
    before = {f["name"]: f["enabled"] for f in flags.list()}
    try:
        yield
    finally:
        after = {f["name"]: f["enabled"] for f in flags.list()}
        for name, enabled in before.items():
            if after.get(name) != enabled:
                flags.set(name, enabled)


def run_smoke(
    api: str,
    prometheus: str | None,
    *,
    services: dict[str, str] | None = None,
    burst_seconds: int = 10,
    output: Path | None = None,
    console: str | None = None,
    on_check: Callable[[Check], None] = lambda _: None,
) -> list[Check]:
    """`services`: component name -> base URL of each web service to check (default:
    the API only, as `api`); flags are flipped through `api` in every case."""
    checks: list[Check] = []
    services = services or {"api": api}

    def add(*new: Check) -> None:
        for check in new:
            checks.append(check)
            on_check(check)

    # Technique writes (a review, a bulk import) need the admin token when the API has one.
    token = os.environ.get("PERFLAB_ADMIN_TOKEN")
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    for component, url in services.items():
        with httpx.Client(base_url=url, timeout=30, headers=auth) as http:
            health = check_health(http, component)
            add(*health)
            if not all(c.ok for c in health):
                why = f"{'API' if component == 'api' else component} not ready"
                add(Check(f"{component} techniques", "flags and endpoints", False, why,
                          skipped=True))  # fmt: skip
                continue
            with FlagsClient(api) as flags, _restoring(flags):
                add(*check_techniques(http, flags, component))
                add(check_propagation(http, flags, component=component))
    if prometheus:
        add(*check_prometheus(prometheus))
    if console and not any(c.skipped for c in checks):
        add(check_console(console))  # it shows the API's techniques: only with an API up
    if burst_seconds > 0 and not any(c.skipped for c in checks):
        for index, url in enumerate(services.values()):
            folder = output / f"{index}" if output and len(services) > 1 else output
            add(check_burst(url, burst_seconds, folder))
    return checks


def _line(check: Check) -> str:
    mark = "[yellow]–[/]" if check.skipped else "[green]✓[/]" if check.ok else "[red]✗[/]"
    detail = f" [dim]{escape(check.detail)}[/]" if check.detail else ""
    return f"{mark} [bold]{escape(check.component)}[/] {escape(check.what)}{detail}"


def smoke_command(
    api: Annotated[
        str | None,
        typer.Option(help="API base URL (default: the lab's); alone, smoke checks only it."),
    ] = None,
    service: Annotated[
        list[str] | None,
        typer.Option(help="Check only this service (repeatable; default: every lab service)."),
    ] = None,
    prometheus: Annotated[
        str | None, typer.Option(help="Prometheus URL (default: the lab's; '' skips).")
    ] = None,
    burst: Annotated[int, typer.Option(min=0, help="Locust burst seconds (0 skips).")] = 10,
    console_url: Annotated[
        str | None,
        typer.Option("--console", help="Console URL (default: the lab's; '' skips)."),
    ] = None,
) -> None:
    """Smoke-test a running stack: health, each technique both ways, flips, targets, load."""
    from perflab.lab import services as lab_services
    from perflab.lab.components import LabContext

    ctx = LabContext.load()
    console = Console(width=None if sys.stdout.isatty() else 120)
    names = service or (["fastapi"] if api else [s.name for s in lab_services.SERVICES])
    try:
        chosen = [lab_services.by_name(name) for name in names]
    except lab_services.UnknownService as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    api = api or ctx.api_url
    targets = {s.job: (api if s.name == "fastapi" else s.url(ctx.ports)) for s in chosen}
    prom = ctx.url(ctx.ports.prometheus) if prometheus is None else prometheus
    board = ctx.url(ctx.ports.console) if console_url is None else console_url
    console.print(f"smoke test of {', '.join(targets.values())}" + (f" and {prom}" if prom else ""))
    checks = run_smoke(api, prom or None, services=targets, burst_seconds=burst,
                       console=board or None,
                       on_check=lambda c: console.print(_line(c), highlight=False))  # fmt: skip
    failed = [c for c in checks if not c.ok and not c.skipped]
    if failed:
        console.print(f"[bold red]smoke: {len(failed)} check(s) failed[/]")
        for check in failed:
            console.print(f" - {escape(f'{check.component}: {check.what} {check.detail}')}")
        raise typer.Exit(1)
    console.print(f"[bold green]smoke: all {len(checks)} checks passed[/]")
