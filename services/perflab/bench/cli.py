"""`lab bench` (and `--overhead` for the telemetry overhead benchmark)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from perflab.bench import lab, overhead


def bench_command(
    duration: Annotated[
        float | None, typer.Option(min=1, help="Seconds per run (default 10; --overhead 5).")
    ] = None,
    rounds: Annotated[
        int | None, typer.Option(min=1, help="Interleaved rounds (default 2; --overhead 4).")
    ] = None,
    connections: Annotated[int, typer.Option(min=1, help="wrk connections.")] = 16,
    processes: Annotated[
        int, typer.Option(min=1, help="--overhead: fresh API processes per configuration.")
    ] = 3,
    telemetry_overhead: Annotated[
        bool,
        typer.Option(
            "--overhead", help="Instead: telemetry off vs metrics vs metrics+tracing(10%)."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Benchmark the lab itself: bare ASGI and FastAPI ceilings, cached read, DB read."""
    # Only what was given: each benchmark keeps its own defaults.
    options = {"duration": duration, "rounds": rounds}
    given: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
    try:
        if telemetry_overhead:
            report = overhead.run(connections=connections, processes=processes, **given)
            text = overhead.render(report)
        else:
            report = lab.run(connections=connections, **given)
            text = lab.render(report)
    except RuntimeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    sys.stdout.write(json.dumps(report, indent=2) + "\n" if as_json else text)
