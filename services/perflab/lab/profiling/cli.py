"""`lab profile TARGET`: where a live service of the lab spends its time (or memory).

    lab profile api                       # py-spy on every API worker for 10 s
    lab profile api --processes busiest   # only the busiest worker
    lab profile worker --duration 30      # the Celery worker and its pool
    lab profile api --flag n_plus_one     # naive vs optimised under the same load
    lab profile api --memory              # tracemalloc window: where memory is held
    lab profile api --docker              # inside the compose stack's api container

Writes a folder (default `results/profile-<target>-<time>/`): `flamegraph.svg`,
`profile.speedscope.json` (open it in https://www.speedscope.app), `summary.json`,
`report.md` (the tables and flame graphs, as the console shows it), and prints the top
functions by own and total time.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from perflab.lab.components import LabContext
from perflab.lab.config import REPO
from perflab.lab.profiling import compare, recorder, report, sampler, targets, window
from perflab.profile import speedscope

console = Console(width=None if sys.stdout.isatty() else 140)
# Below this, a share's ± is several points wide: a variant says little on its own.
FEW_SAMPLES = 200


def _folder(output: Path | None, target: str, kind: str) -> Path:
    if output is not None:
        return output
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return REPO / "results" / f"profile-{target}-{kind}-{stamp}"


def _fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    return typer.Exit(code)


def _single(plan: recorder.Plan, ctx: LabContext, out: Path, top: int) -> dict[str, Any]:
    console.print(f"sampling {plan.target.name} for {plan.seconds} s at {plan.rate} Hz ...")
    result = recorder.record(plan, ctx, out, f"{plan.target.name} · CPU samples")
    samples = result.samples
    console.print(f"sampled: {result.sampled}", soft_wrap=True)
    console.print(
        f"{samples.count} busy samples ({samples.seconds:.2f} s of thread time), "
        f"{result.recording.errors} sampling errors"
    )
    if not samples.count:
        console.print("[yellow]no busy samples: the target was idle; put it under load[/]")
    console.print(report.functions_table(speedscope.top(samples, top), "top functions by own time"))
    lab_rows = speedscope.top_by_total(samples, top, lab_only=True)
    console.print(report.functions_table(lab_rows, "the lab's own code by total time"))
    return {
        "sampled": result.sampled,
        "samples": samples.count,
        "errors": result.recording.errors,
        "flamegraph": str(result.flamegraph),
        "speedscope": str(result.speedscope),
        "top_own": report.function_dicts(speedscope.top(samples, top)),
        "lab_code_by_total": report.function_dicts(lab_rows),
    }


def _flag(
    plan: recorder.Plan, flag: str, ctx: LabContext, out: Path, top: int, users: int, load: bool
) -> dict[str, Any]:
    how = f"a Locust load of {flag} ({users} users)" if load else "the load already running"
    console.print(f"profiling {flag}: naive, then optimised, under {how}")
    found = compare.run(
        plan, flag, ctx, out, users=users, drive_load=load, top=top, say=console.print
    )
    variants = {}
    for name, result in (("naive", found.naive), ("optimised", found.optimised)):
        console.print(f"{name}: {result.samples.count} samples · {result.flamegraph}")
        variants[name] = {
            "samples": result.samples.count,
            "sampled": result.sampled,
            "flamegraph": str(result.flamegraph),
            "speedscope": str(result.speedscope),
            "top_own": report.function_dicts(speedscope.top(result.samples, top)),
        }
    title = f"{flag}: functions whose share of samples changed most (total time)"
    console.print(report.changes_table(found.changes, title))
    console.print(report.changes_table(found.lab_changes, f"{flag}: the lab's own code"))
    console.print(
        "± is two standard errors of the change; dimmed rows moved less than that "
        "(sampling luck is enough to explain them)"
    )
    fewest = min(found.naive.samples.count, found.optimised.samples.count)
    if fewest < FEW_SAMPLES:
        console.print(
            f"[yellow]only {fewest} busy samples in one variant: more --duration or "
            "--users narrows the ± of every change[/]"
        )
    return {
        "flag": flag,
        "variants": variants,
        "changes": report.change_dicts(found.changes),
        "lab_changes": report.change_dicts(found.lab_changes),
    }


def _memory(target: targets.Target, ctx: LabContext, out: Path, seconds: int, top: int) -> dict:
    if not target.web:
        raise window.WindowError(
            f"--memory asks a web service for a tracemalloc window; {target.name} has none "
            "(profile its CPU instead)"
        )
    console.print(f"tracing allocations in one {target.name} process for {seconds} s ...")
    body = window.request(ctx.api_url, seconds, top)
    svg, data_file = window.write(body, out, f"{target.name} · memory held after {seconds} s")
    data = body["data"]
    console.print(
        f"pid {body['pid']}: peak {data['peak_bytes'] / 1024:,.1f} KiB, "
        f"held at the end {data['held_bytes'] / 1024:,.1f} KiB in {data['held_blocks']:,} blocks"
    )
    console.print(report.memory_table(data, "where the memory still held was allocated"))
    return {"pid": body["pid"], "flamegraph": str(svg), "json": str(data_file), "top": data["top"]}


def profile_command(
    target: Annotated[str, typer.Argument(help=f"What to sample: {', '.join(targets.TARGETS)}.")],
    duration: Annotated[int, typer.Option(min=1, max=600, help="Seconds to sample.")] = 10,
    output: Annotated[Path | None, typer.Option(help="Folder for the results.")] = None,
    rate: Annotated[int, typer.Option(min=1, max=1000, help="Samples per second.")] = 100,
    processes: Annotated[
        str, typer.Option(help="all: every worker (summed); busiest: the one using most CPU.")
    ] = "all",
    pid: Annotated[int | None, typer.Option(help="Sample this process (and children).")] = None,
    docker: Annotated[bool, typer.Option("--docker", help="Sample inside compose.")] = False,
    index: Annotated[int, typer.Option(min=1, help="Which replica under --docker.")] = 1,
    flag: Annotated[
        str | None, typer.Option(help="Profile this flag's naive and optimised variants.")
    ] = None,
    users: Annotated[int, typer.Option(min=1, help="Locust users for --flag.")] = 4,
    load: Annotated[
        bool, typer.Option("--load/--no-load", help="--flag: drive its own load, or use yours.")
    ] = True,
    memory: Annotated[
        bool, typer.Option("--memory", help="Where memory is held (tracemalloc window).")
    ] = False,
    top: Annotated[int, typer.Option(min=1, max=100, help="Rows per table.")] = 15,
) -> None:
    """Profile a live process of the lab with py-spy: flame graph, speedscope, top functions."""
    if processes not in ("all", "busiest"):
        raise _fail("--processes is all or busiest", 2)
    if flag and memory:
        raise _fail("--flag and --memory do not go together", 2)
    try:
        chosen = targets.get(target)
    except targets.TargetError as exc:
        raise _fail(str(exc), 2) from exc
    ctx = LabContext.load()
    try:
        kind = "memory" if memory else f"flag-{flag}" if flag else "cpu"
        out = _folder(output, target, kind)
        out.mkdir(parents=True, exist_ok=True)
        plan = recorder.Plan(chosen, duration, rate, processes, pid, docker, index)
        if memory:
            summary = _memory(chosen, ctx, out, duration, top)
        elif flag:
            summary = _flag(plan, flag, ctx, out, top, users, load)
        else:
            summary = _single(plan, ctx, out, top)
    except (targets.TargetError, sampler.SamplerError, window.WindowError) as exc:
        raise _fail(str(exc)) from exc
    except compare.CompareError as exc:
        raise _fail(str(exc)) from exc
    except KeyboardInterrupt:
        raise _fail("interrupted (flags restored)", 130) from None
    summary = {"target": target, "seconds": duration, "kind": kind, **summary}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "report.md").write_text(report.markdown(summary, out))
    console.print(f"results: {out}")
