"""`lab`: start, stop and inspect the native perflab stack, and flip its flags.

`app` is the typer application; verbs that live in other modules (load, smoke,
experiment) are registered on it at the bottom of this file.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from perflab.bench.cli import bench_command
from perflab.experiment.cli import experiment_command
from perflab.experiment.compare_cli import compare_command
from perflab.flags.catalog import FLAGS
from perflab.lab import docker as compose_lab
from perflab.lab.components import LabContext
from perflab.lab.config import LabSettings
from perflab.lab.fault_cli import fault_command
from perflab.lab.flags_client import FlagsClient, FlagsError
from perflab.lab.load_cli import load_command
from perflab.lab.profiling.cli import profile_command
from perflab.lab.report import StartupView, status_table
from perflab.lab.smoke import smoke_command
from perflab.lab.stack import Stack
from perflab.procs import StartError
from perflab.settings import Settings, explain

app = typer.Typer(
    help="perflab's native lab: Postgres, Redis, API, Celery worker, Prometheus, "
    "Alertmanager, Locust (and Grafana when installed), all on 127.0.0.1.",
    no_args_is_help=True,
    add_completion=False,
)
# Wide enough for the URL table when output goes to a file or a pipe.
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


@app.callback()
def _check_settings() -> None:
    """Every command first reads the settings: a bad one is one line, not a traceback."""
    try:
        LabSettings()
        Settings()
    except (ValidationError, SettingsError) as exc:
        fail("\n".join(f"bad setting {line}" for line in explain(exc)))


def fail(message: str, code: int = 1, note: str | None = None) -> NoReturn:
    """Print each line of `message` as an error (one line per problem), then exit."""
    for line in message.splitlines():
        err_console.print(Text.assemble(("error: ", "bold red"), line))
    if note:
        err_console.print(Text(note, style="dim"))
    raise typer.Exit(code)


def _stack(workers: int | None = None) -> Stack:
    cfg = LabSettings()
    if workers is not None:
        cfg.lab = cfg.lab.model_copy(update={"api_workers": workers})
    return Stack(LabContext.load(cfg))


@app.command()
def up(
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", min=1, help="API worker processes.")
    ] = None,
    seed_scale: Annotated[
        float | None,
        typer.Option("--seed-scale", min=0.001, help="Data size; 1.0 = 20k books, 500k orders."),
    ] = None,
    docker: Annotated[
        bool, typer.Option("--docker", help="Run the stack as containers (docker compose).")
    ] = False,
    api_replicas: Annotated[
        int, typer.Option("--api-replicas", min=1, help="API containers behind the gateway.")
    ] = 1,
) -> None:
    """Start every component (only what is not already running), wait for health, seed."""
    if docker:
        try:
            compose = compose_lab.up(
                workers=workers, seed_scale=seed_scale, api_replicas=api_replicas,
                say=console.print,
            )  # fmt: skip
            table, _ = compose_lab.status_table(compose)
        except compose_lab.DockerError as exc:
            fail(str(exc), note="lab up --docker: `docker compose logs` shows why")
        console.print(table)
        return
    began = time.perf_counter()
    stack = _stack(workers)
    scale = seed_scale if seed_scale is not None else stack.ctx.cfg.lab.seed_scale
    try:
        result = stack.up(StartupView(console), scale)
    except StartError as exc:
        fail(str(exc), note="lab up: stopped what this run had started")
    except KeyboardInterrupt:
        fail("interrupted: stopped what this run had started", 130)
    finally:
        stack.close()
    notes = dict.fromkeys(result.started, "started")
    notes |= dict.fromkeys(result.already_running, "already running")
    console.print(status_table(result.rows, notes))
    if not result.started:
        console.print("already running: every component was up; nothing started")
    console.print(f"lab up in {time.perf_counter() - began:.1f} s; state in {stack.ctx.paths.root}")


@app.command()
def down(
    purge: Annotated[bool, typer.Option(help="Also delete the state folder (data, logs).")] = False,
    docker: Annotated[
        bool, typer.Option("--docker", help="Stop the compose stack (--purge drops volumes).")
    ] = False,
) -> None:
    """Stop every component the lab started (by PID); keep the data unless --purge."""
    if docker:
        try:
            compose_lab.down(volumes=purge, say=console.print)
        except compose_lab.DockerError as exc:
            fail(str(exc))
        return
    stack = _stack()
    try:
        stack.down(purge, say=console.print)
    except StartError as exc:
        fail(str(exc))
    console.print("lab down")


@app.command()
def status(
    docker: Annotated[
        bool, typer.Option("--docker", help="The compose stack's containers and health.")
    ] = False,
) -> None:
    """Show each component's PID, URL and health (exit 3 when something is not healthy)."""
    if docker:
        try:
            table, ok = compose_lab.status_table()
        except compose_lab.DockerError as exc:
            fail(str(exc))
        console.print(table)
        if not ok:
            raise typer.Exit(3)
        return
    stack = _stack()
    try:
        rows = stack.status()
    finally:
        stack.close()
    console.print(status_table(rows))
    if not all(row.ok for row in rows):
        raise typer.Exit(3)


@app.command()
def logs(
    component: Annotated[str | None, typer.Argument(help="One component; all if omitted.")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing.")] = False,
    lines: Annotated[int, typer.Option("--lines", "-n", min=0)] = 40,
) -> None:
    """Print the last lines of the components' logs (or follow them)."""
    stack = _stack()
    names = [c.name for c in stack.components]
    if component is not None and component not in names:
        fail(f"unknown component {component!r}; one of: {', '.join(names)}", 2)
    chosen = [c for c in stack.components if component in (None, c.name)]
    paths = [c.log for c in chosen if c.log.exists()]
    if not paths:
        fail(f"no logs yet under {stack.ctx.paths.root / 'logs'}")
    if follow:
        os.execvp("tail", ["tail", "-n", str(lines), "-F", *map(str, paths)])
    for path in paths:
        console.rule(str(path))
        text = path.read_text(errors="replace").splitlines()
        for line in text[-lines:] if lines else []:
            console.print(line, markup=False, highlight=False)


def _client() -> FlagsClient:
    return FlagsClient(LabContext.load().api_url)


@app.command()
def flags() -> None:
    """List the flags and their state (on = optimised path)."""
    try:
        with _client() as client:
            listed = client.list()
    except FlagsError as exc:
        fail(str(exc))
    table = Table(title="flags (on = optimised path)", title_justify="left")
    for column in ("flag", "state", "description"):
        table.add_column(column)
    for flag_ in listed:
        state = "[green]on[/]" if flag_["enabled"] else "[yellow]off[/]"
        table.add_row(flag_["name"], state, flag_["description"])
    console.print(table)


@app.command()
def flag(
    name: Annotated[str, typer.Argument(help="A flag name, or all-on / all-off.")],
    state: Annotated[str | None, typer.Argument(help="on or off.")] = None,
) -> None:
    """Turn a flag on or off (`lab flag n_plus_one off`), or all of them (`lab flag all-on`)."""
    if name not in FLAGS and name not in ("all-on", "all-off"):
        fail(f"unknown flag {name!r}; `lab flags` lists them", 2)
    try:
        with _client() as client:
            if name in ("all-on", "all-off") and state is None:
                targets = [f["name"] for f in client.list()]
                enabled = name == "all-on"
            elif state in ("on", "off"):
                targets, enabled = [name], state == "on"
            else:
                fail("usage: lab flag NAME on|off, lab flag all-on, lab flag all-off", 2)
            for target in targets:
                client.set(target, enabled)
                console.print(f"{target}: {'on' if enabled else 'off'}")
    except FlagsError as exc:
        fail(str(exc))


app.command("load")(load_command)
app.command("fault")(fault_command)
app.command("smoke")(smoke_command)
app.command("experiment")(experiment_command)
app.command("compare")(compare_command)
app.command("bench")(bench_command)
app.command("profile")(profile_command)


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    # SystemExit unwinds like Ctrl-C: every `finally` stops what this command started
    # (a bench's servers, a load run's Locust), where the default SIGTERM would orphan them.
    sys.exit(128 + signum)


def main() -> None:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    app(prog_name="lab")


if __name__ == "__main__":
    main()
