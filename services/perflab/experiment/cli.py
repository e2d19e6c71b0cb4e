"""`lab experiment FLAG` and `lab experiment --all`."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from perflab.experiment import report, runner
from perflab.experiment.stack import techniques
from perflab.lab.config import REPO, LabSettings

console = Console()
# Requests/s is resampled over whole seconds: fewer than three give no interval.
MIN_DURATION = 3.0


@dataclass(frozen=True)
class Timing:
    duration: float
    warmup: float
    repeats: int
    users: int


# One technique: long arms. Several (--all): shorter pairs, so 15 techniques fit in
# 10 min. The same 10 users: more would queue the naive paths (latency then measures
# the queue) on an API pinned to one core.
SINGLE = Timing(duration=20, warmup=2, repeats=3, users=10)
ALL = Timing(duration=4, warmup=1.5, repeats=2, users=10)


def _urls() -> tuple[str, str, str]:
    ports = LabSettings().ports
    return (
        f"http://127.0.0.1:{ports.api}",
        f"http://127.0.0.1:{ports.prometheus}",
        f"http://127.0.0.1:{ports.worker_metrics}/metrics",
    )


def experiment_command(
    flags: Annotated[
        list[str] | None,
        typer.Argument(help="The flag(s) to flip (see `lab flags`); several: a summary too."),
    ] = None,
    all_techniques: Annotated[
        bool, typer.Option("--all", help="Every technique in turn, then a summary table.")
    ] = False,
    duration: Annotated[
        float | None,
        typer.Option(
            help=f"Measured seconds per arm (default {SINGLE.duration:g}; "
            f"--all {ALL.duration:g}); at least {MIN_DURATION:g}."
        ),
    ] = None,  # fmt: skip
    warmup: Annotated[
        float | None,
        typer.Option(
            min=0,
            help=f"Seconds after each flip before measuring (default "
            f"{SINGLE.warmup:g}; --all {ALL.warmup:g}); never under 1 s.",
        ),
    ] = None,  # fmt: skip
    repeats: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=f"A/B pairs, interleaved ABAB (default {SINGLE.repeats}; --all {ALL.repeats}).",
        ),
    ] = None,  # fmt: skip
    users: Annotated[
        int | None,
        typer.Option(
            min=1, help=f"Locust users (default {SINGLE.users}; several techniques {ALL.users})."
        ),
    ] = None,  # fmt: skip
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
    pin: Annotated[
        bool, typer.Option(help="API and Locust on different cores (two cores or more).")
    ] = True,
    output: Annotated[Path | None, typer.Option(help="Report folder.")] = None,
    api: Annotated[str | None, typer.Option(help="API base URL.")] = None,
    prometheus: Annotated[str | None, typer.Option(help="Prometheus base URL.")] = None,
    worker_metrics: Annotated[
        str | None, typer.Option(help="The Celery worker's /metrics URL.")
    ] = None,
) -> None:
    """Measure what a flag buys: A (off) vs B (on) under the same load, with CIs."""
    if bool(flags) == all_techniques:
        console.print("[red]error:[/] give FLAG(s), or --all")
        raise typer.Exit(2)
    several = all_techniques or len(flags or []) > 1
    base = ALL if several else SINGLE
    timing = Timing(
        duration=base.duration if duration is None else duration,
        warmup=base.warmup if warmup is None else warmup,
        repeats=base.repeats if repeats is None else repeats,
        users=base.users if users is None else users,
    )
    if timing.duration < MIN_DURATION:
        console.print(
            f"[red]error:[/] --duration {timing.duration:g}: each arm needs at least "
            f"{MIN_DURATION:g} s measured (requests/s is resampled over whole seconds, and "
            "fewer than three give no confidence interval)"
        )
        raise typer.Exit(2)
    default_api, default_prom, default_worker = _urls()
    api, prometheus = api or default_api, prometheus or default_prom
    out = output or REPO / "results" / f"experiment-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        names = list(techniques(api)) if all_techniques else list(flags or [])
    except Exception as exc:  # noqa: BLE001 - any failure here means the API is not there
        console.print(f"[red]error:[/] cannot list techniques at {api}: {exc}")
        raise typer.Exit(1) from exc
    results = []
    failed: dict[str, str] = {}
    started = time.monotonic()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=console,
    ) as bar:  # fmt: skip
        task = bar.add_task("starting", total=len(names) * timing.repeats * 2)
        for index, name in enumerate(names):
            config = runner.Config(
                flag=name, api=api, prometheus=prometheus,
                worker_metrics=worker_metrics or default_worker,
                duration_seconds=timing.duration, warmup_seconds=timing.warmup,
                repeats=timing.repeats, users=timing.users, think_seconds=think,
                scenario=scenario,
                admin_token=os.environ.get("PERFLAB_ADMIN_TOKEN"), pin=pin,
            )  # fmt: skip
            done_before = index * timing.repeats * 2

            def progress(text: str, step: int, _total: int, base: int = done_before) -> None:
                bar.update(task, description=text, completed=base + step)

            folder = out / name if several else out
            try:
                result = runner.run(config, folder, progress)
            except runner.ExperimentError as exc:
                console.print(f"[red]error:[/] {name}: {exc}")
                if not several:
                    raise typer.Exit(1) from exc
                failed[name] = str(exc)  # the others still run; the summary says why
                continue
            except KeyboardInterrupt:
                console.print("[yellow]interrupted: flags restored[/]")
                raise typer.Exit(130) from None
            report.write(result, folder)
            results.append(result)
            for note in result.notes:
                if "instead" in note:  # a duration the figures needed longer
                    console.print(f"[yellow]{note}[/]")
            console.print(report.verdict(result))
    if several:
        console.print(Markdown(report.write_summary(results, out, failed)))
        console.print(f"{len(names)} techniques in {(time.monotonic() - started) / 60:.1f} min")
    console.print(f"report: {out}")
    if failed:
        raise typer.Exit(1)
