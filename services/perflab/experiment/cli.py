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

from perflab.catalog import unmeasurable
from perflab.experiment import agreement, report, runner
from perflab.experiment.cli_options import (
    ALL,
    MIN_DURATION,
    SINGLE,
    Timing,
    lab_urls,
    parse_seed,
    span,
)
from perflab.experiment.config import DEFAULT_SEED, Config
from perflab.experiment.data_restore import restore_data
from perflab.experiment.stack import techniques
from perflab.lab import services as lab_services
from perflab.lab.config import REPO, LabSettings
from perflab.lab.load import LoadError

console = Console()


def experiment_command(
    flags: Annotated[
        list[str] | None,
        typer.Argument(help="The flag(s) to flip (see `lab flags`); several: a summary too."),
    ] = None,
    all_techniques: Annotated[
        bool, typer.Option("--all", help="Every technique in turn, then a summary table.")
    ] = False,
    duration: Annotated[
        str | None,
        typer.Option(
            "--duration",
            "-t",
            help=f"Measured time per arm, as `lab load -t` (20, 20s, 2m; default "
            f"{SINGLE.duration:g}s, several techniques {ALL.duration:g}s); at least "
            f"{MIN_DURATION:g}s.",
        ),
    ] = None,  # fmt: skip
    warmup: Annotated[
        str | None,
        typer.Option(
            help=f"Time after each flip before measuring (default {SINGLE.warmup:g}s, "
            f"several techniques {ALL.warmup:g}s); never under 1 s.",
        ),
    ] = None,
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
            "key figure grows with the request count (throughput, CPU per request, memo "
            "entries), else "
            "each user class's own pace.",
        ),
    ] = None,
    scenario: Annotated[
        str | None, typer.Option(help="Locust scenario (default: the technique's own user).")
    ] = None,
    seed: Annotated[
        str,
        typer.Option(
            help=f"Seed of the load's ids, pages and keys, so every run asks for the same "
            f"requests (default {DEFAULT_SEED}); `random`: fresh draws each run.",
        ),
    ] = str(DEFAULT_SEED),
    pin: Annotated[
        bool, typer.Option(help="API and Locust on different cores (two cores or more).")
    ] = True,
    keep_data: Annotated[
        bool,
        typer.Option(
            "--keep-data",
            help="Keep the rows earlier load added (default: back to the seeded data first).",
        ),
    ] = False,
    output: Annotated[Path | None, typer.Option(help="Report folder.")] = None,
    against: Annotated[
        Path | None,
        typer.Option(
            help="An earlier report's folder: each technique's headline improvement beside "
            "it, and which are more than 10% apart (does the result repeat?).",
        ),
    ] = None,
    service: Annotated[
        str, typer.Option(help="The web service under test: fastapi, django, ...")
    ] = lab_services.DEFAULT,
    target: Annotated[
        str | None, typer.Option(help="That service's base URL (default: the lab's).")
    ] = None,
    api: Annotated[str | None, typer.Option(help="API base URL (flags are flipped there).")] = None,
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
    try:
        timing = Timing(
            duration=base.duration if duration is None else span(duration, "--duration", 0),
            warmup=base.warmup if warmup is None else span(warmup, "--warmup", 0),
            repeats=base.repeats if repeats is None else repeats,
            users=base.users if users is None else users,
        )
    except LoadError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    try:
        load_seed = parse_seed(seed)
    except ValueError as exc:
        console.print(f"[red]error:[/] --seed {exc}")
        raise typer.Exit(2) from exc
    if timing.duration < MIN_DURATION:
        console.print(
            f"[red]error:[/] --duration {duration}: each arm needs at least "
            f"{MIN_DURATION:g} s measured (requests/s is resampled over whole seconds, and "
            "fewer than three give no confidence interval)"
        )
        raise typer.Exit(2)
    try:
        earlier = agreement.load(against) if against else None
    except agreement.AgreementError as exc:
        console.print(f"[red]error:[/] --against {exc}")
        raise typer.Exit(2) from exc
    default_api, default_prom, default_worker = lab_urls()
    api, prometheus = api or default_api, prometheus or default_prom
    try:
        chosen = lab_services.by_name(service)
    except lab_services.UnknownService as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    # Named flags are checked against the catalog before the data is restored or any
    # technique runs: a typo in the third name must not cost the first two's minutes.
    if why := unmeasurable(flags or [], service):
        console.print(f"[red]error:[/] {why}")
        raise typer.Exit(2)
    # The FastAPI service is the API itself: --api moves it too.
    target = target or (api if service == lab_services.DEFAULT else chosen.url(LabSettings().ports))
    out = output or REPO / "results" / f"experiment-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        names = list(techniques(target)) if all_techniques else list(flags or [])
    except Exception as exc:  # noqa: BLE001 - any failure here means the service is not there
        console.print(f"[red]error:[/] cannot list techniques at {target}: {exc}")
        raise typer.Exit(1) from exc
    if keep_data:
        data_note = "the data as earlier load left it (--keep-data)"
    elif api != default_api:
        # The database restored is the local lab's: never touch it for another stack.
        data_note = f"not restored: {api} is not the local lab's API"
    else:
        data_note = restore_data()
    console.print(f"data: {data_note}")
    results = []
    failed: dict[str, str] = {}
    started = time.monotonic()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=console,
    ) as bar:  # fmt: skip
        task = bar.add_task("starting", total=len(names) * timing.repeats * 2)
        for index, name in enumerate(names):
            config = Config(
                flag=name, api=target, prometheus=prometheus,
                worker_metrics=worker_metrics or default_worker,
                duration_seconds=timing.duration, warmup_seconds=timing.warmup,
                repeats=timing.repeats, users=timing.users, think_seconds=think,
                scenario=scenario, service=service, seed=load_seed,
                flags_api=api if target != api else None,
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
            when = " (before the run's first technique)" if index else ""
            result.notes.append(f"data: {data_note}{when}")
            report.write(result, folder)
            results.append(result)
            for note in result.notes:
                if "instead" in note:  # a duration the figures needed longer
                    console.print(f"[yellow]{note}[/]")
            console.print(report.verdict(result))
    if several:
        console.print(Markdown(report.write_summary(results, out, failed)))
        console.print(f"{len(names)} techniques in {(time.monotonic() - started) / 60:.1f} min")
    if against is not None and earlier is not None and results:
        now = [report.as_json(r) for r in results]
        text = agreement.markdown(
            agreement.compare(now, earlier), against,
            differences=agreement.setting_differences(now, earlier),
            missing=agreement.only_earlier(now, earlier) if all_techniques else (),
        )  # fmt: skip
        with (out / ("summary.md" if several else "report.md")).open("a") as md:
            md.write("\n" + text)
        console.print(Markdown(text))
    console.print(f"report: {out}")
    if failed:
        raise typer.Exit(1)
