"""`lab compare TECHNIQUE`: one technique, naive vs optimised, in every framework."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markdown import Markdown
from rich.progress import Progress, TextColumn, TimeElapsedColumn

from perflab.catalog import unmeasurable
from perflab.experiment import compare, compare_report, runner
from perflab.experiment.cli import console
from perflab.experiment.cli_options import MIN_DURATION, lab_urls
from perflab.experiment.config import Config
from perflab.lab import services as lab_services
from perflab.lab.config import REPO, LabSettings


def default_targets() -> dict[str, str]:
    """Every web service of the lab (lab/services.py) at its port (`PERFLAB_PORTS__*`)."""
    return lab_services.base_urls(LabSettings().ports)


def parse_targets(text: str) -> dict[str, str]:
    """`fastapi=http://127.0.0.1:8000,flask=http://...` -> {service: url}."""
    known = [s.name for s in lab_services.SERVICES]
    targets = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        service, sep, url = item.partition("=")
        if not sep or service not in known or not url.startswith(("http://", "https://")):
            raise typer.BadParameter(
                f"{item!r}: expected SERVICE=URL with SERVICE one of {', '.join(known)}"
            )
        targets[service] = url.rstrip("/")
    return targets


def compare_command(
    technique: Annotated[str, typer.Argument(help="The technique (see `lab flags`).")],
    services: Annotated[
        str | None,
        typer.Option(
            help="SERVICE=URL,... to compare (default: every lab service on its lab port; "
            "those not implementing the technique or not running are listed as skipped)."
        ),
    ] = None,
    duration: Annotated[
        int, typer.Option(min=int(MIN_DURATION), help="Measured seconds per arm.")
    ] = 20,
    warmup: Annotated[int, typer.Option(min=0, help="Unmeasured seconds at each arm start.")] = 3,
    repeats: Annotated[int, typer.Option(min=1, help="A/B pairs per framework.")] = 3,
    users: Annotated[int, typer.Option(min=1, help="Locust users.")] = 10,
    think: Annotated[float | None, typer.Option(min=0, help="Think time per user (s).")] = None,
    output: Annotated[Path | None, typer.Option(help="Report folder.")] = None,
    api: Annotated[str | None, typer.Option(help="The API that flips flags (FastAPI).")] = None,
    prometheus: Annotated[str | None, typer.Option(help="Prometheus base URL.")] = None,
) -> None:
    """One technique, naive vs optimised, in every framework: one report side by side."""
    if why := unmeasurable([technique]):  # before the progress bar: exit 2, as a typo
        console.print(f"[red]error:[/] {why}")
        raise typer.Exit(2)
    default_api, default_prom, _ = lab_urls()
    targets = parse_targets(services) if services else default_targets()
    out = output or REPO / "results" / f"compare-{technique}-{time.strftime('%Y%m%d-%H%M%S')}"
    base = Config(
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
