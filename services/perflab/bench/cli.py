"""`lab bench` (and `--overhead` for the telemetry overhead benchmark)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from perflab.bench import lab, overhead


def bench_command(
    duration: Annotated[float, typer.Option(min=1, help="Seconds per run.")] = 10.0,
    rounds: Annotated[int, typer.Option(min=1, help="Interleaved rounds.")] = 2,
    connections: Annotated[int, typer.Option(min=1, help="wrk connections.")] = 16,
    telemetry_overhead: Annotated[
        bool,
        typer.Option(
            "--overhead", help="Instead: telemetry off vs metrics vs metrics+tracing(10%)."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Benchmark the lab itself: bare ASGI ceiling, cached read, DB read, telemetry on/off."""
    module = overhead if telemetry_overhead else lab
    try:
        report = module.run(duration, rounds, connections)
    except RuntimeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    sys.stdout.write(json.dumps(report, indent=2) + "\n" if as_json else module.render(report))
