"""`lab experiment FLAG` and `lab experiment --all`."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from perflab.catalog import SERVICES
from perflab.experiment import compare, compare_report, report, runner
from perflab.lab import services as lab_services
from perflab.lab.config import REPO, LabSettings

console = Console()


def _defaults() -> tuple[str, str]:
    ports = LabSettings().ports
    return f"http://127.0.0.1:{ports.api}", f"http://127.0.0.1:{ports.prometheus}"


def experiment_command(
    flag: Annotated[str | None, typer.Argument(help="The flag to flip (see `lab flags`).")] = None,
    all_techniques: Annotated[
        bool, typer.Option("--all", help="Every technique in turn, then a summary table.")
    ] = False,
    duration: Annotated[int, typer.Option(min=2, help="Measured seconds per arm.")] = 20,
    warmup: Annotated[int, typer.Option(min=0, help="Unmeasured seconds at each arm start.")] = 3,
    repeats: Annotated[int, typer.Option(min=1, help="A/B pairs, interleaved ABAB.")] = 3,
    users: Annotated[int, typer.Option(min=1, help="Locust users.")] = 10,
    think: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="Think time per user in s. Default: 0 (closed loop) when the technique's "
            "key figure is throughput, else each user class's own pace.",
        ),
    ] = None,
    scenario: Annotated[
        str | None, typer.Option(help="Locust scenario (default: the technique's own user).")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="Report folder.")] = None,
    service: Annotated[
        str, typer.Option(help="The web service under test: fastapi, django, ...")
    ] = lab_services.DEFAULT,
    target: Annotated[
        str | None, typer.Option(help="That service's base URL (default: the lab's).")
    ] = None,
    api: Annotated[str | None, typer.Option(help="API base URL (flags are flipped there).")] = None,
    prometheus: Annotated[str | None, typer.Option(help="Prometheus base URL.")] = None,
) -> None:
    """Measure what a flag buys: A (off) vs B (on) under the same load, with CIs."""
    if (flag is None) == (not all_techniques):
        console.print("[red]error:[/] give one FLAG, or --all")
        raise typer.Exit(2)
    default_api, default_prom = _defaults()
    api, prometheus = api or default_api, prometheus or default_prom
    try:
        chosen = lab_services.by_name(service)
    except lab_services.UnknownService as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    # The FastAPI service is the API itself: --api moves it too.
    target = target or (api if service == lab_services.DEFAULT else chosen.url(LabSettings().ports))
    out = output or REPO / "results" / f"experiment-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        flags = list(runner.techniques(target)) if all_techniques else [flag]
    except Exception as exc:  # noqa: BLE001 - any failure here means the service is not there
        console.print(f"[red]error:[/] cannot list techniques at {target}: {exc}")
        raise typer.Exit(1) from exc
    results = []
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=console,
    ) as bar:  # fmt: skip
        task = bar.add_task("starting", total=len(flags) * repeats * 2)
        for index, name in enumerate(flags):
            assert name is not None
            config = runner.Config(
                flag=name, api=target, prometheus=prometheus, duration_seconds=duration,
                warmup_seconds=warmup, repeats=repeats, users=users, think_seconds=think,
                scenario=scenario, flags_api=api if target != api else None, service=service,
                admin_token=os.environ.get("PERFLAB_ADMIN_TOKEN"),
            )  # fmt: skip
            done_before = index * repeats * 2

            def progress(text: str, step: int, _total: int, base: int = done_before) -> None:
                bar.update(task, description=text, completed=base + step)

            folder = out / name if all_techniques else out
            try:
                result = runner.run(config, folder, progress)
            except runner.ExperimentError as exc:
                console.print(f"[red]error:[/] {exc}")
                raise typer.Exit(1) from exc
            except KeyboardInterrupt:
                console.print("[yellow]interrupted: flags restored[/]")
                raise typer.Exit(130) from None
            report.write(result, folder)
            results.append(result)
            console.print(report.verdict(result))
    if all_techniques:
        console.print(Markdown(report.write_summary(results, out)))
    console.print(f"report: {out}")


def default_targets() -> dict[str, str]:
    """Every service on the lab's port for it (PERFLAB_PORTS__API, __DJANGO, __FLASK)."""
    ports = LabSettings().ports
    found = {"fastapi": ports.api, "django": ports.django, "flask": ports.flask}
    return {service: f"http://127.0.0.1:{found[service]}" for service in SERVICES}


def parse_targets(text: str) -> dict[str, str]:
    """`fastapi=http://127.0.0.1:8000,flask=http://...` -> {service: url}."""
    targets = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        service, sep, url = item.partition("=")
        if not sep or service not in SERVICES or not url.startswith(("http://", "https://")):
            raise typer.BadParameter(
                f"{item!r}: expected SERVICE=URL with SERVICE one of {', '.join(SERVICES)}"
            )
        targets[service] = url.rstrip("/")
    return targets


def compare_command(
    technique: Annotated[str, typer.Argument(help="The technique (see `lab flags`).")],
    services: Annotated[
        str | None,
        typer.Option(
            help="SERVICE=URL,... to compare (default: every lab service on its default port)."
        ),
    ] = None,
    duration: Annotated[int, typer.Option(min=2, help="Measured seconds per arm.")] = 20,
    warmup: Annotated[int, typer.Option(min=0, help="Unmeasured seconds at each arm start.")] = 3,
    repeats: Annotated[int, typer.Option(min=1, help="A/B pairs per framework.")] = 3,
    users: Annotated[int, typer.Option(min=1, help="Locust users.")] = 10,
    think: Annotated[float | None, typer.Option(min=0, help="Think time per user (s).")] = None,
    output: Annotated[Path | None, typer.Option(help="Report folder.")] = None,
    api: Annotated[str | None, typer.Option(help="The API that flips flags (FastAPI).")] = None,
    prometheus: Annotated[str | None, typer.Option(help="Prometheus base URL.")] = None,
) -> None:
    """One technique, naive vs optimised, in every framework: one report side by side."""
    default_api, default_prom = _defaults()
    targets = parse_targets(services) if services else default_targets()
    out = output or REPO / "results" / f"compare-{technique}-{time.strftime('%Y%m%d-%H%M%S')}"
    base = runner.Config(
        flag=technique, api=api or default_api, prometheus=prometheus or default_prom,
        duration_seconds=duration, warmup_seconds=warmup, repeats=repeats, users=users,
        think_seconds=think, admin_token=os.environ.get("PERFLAB_ADMIN_TOKEN"),
    )  # fmt: skip
    try:
        with Progress(
            TextColumn("{task.description}"), TimeElapsedColumn(), console=console
        ) as bar:
            task = bar.add_task("starting")
            comparison = compare.run(
                technique, targets, base, out,
                lambda text, _step, _total: bar.update(task, description=text),
            )  # fmt: skip
    except runner.ExperimentError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: flags restored[/]")
        raise typer.Exit(130) from None
    if not any(run.result for run in comparison.runs):
        reasons = "; ".join(f"{r.service}: {r.skipped}" for r in comparison.runs)
        console.print(f"[red]error:[/] no service measured ({reasons})")
        raise typer.Exit(1)
    console.print(Markdown(compare_report.write(comparison, out)))
    console.print(f"report: {out}")
