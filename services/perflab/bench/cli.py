"""`lab bench` (and `--overhead` for the telemetry overhead benchmark)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from perflab.bench import lab, overhead, servers, servers_report
from perflab.lab.config import REPO


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
            "--overhead",
            help="Instead: telemetry off vs metrics vs metrics+tracing (default ratio, 100%).",
        ),
    ] = False,
    ratio: Annotated[
        float | None,
        typer.Option(min=0, max=1, help="--overhead: sampling ratio (default: the lab's)."),
    ] = None,
    server_choice: Annotated[
        bool,
        typer.Option(
            "--servers",
            help="Instead: one endpoint per framework under several servers (Werkzeug, "
            "gunicorn sync/gthread, uvicorn, gunicorn+uvicorn, granian), keep-alive vs a "
            "new connection per request; writes a report with charts.",
        ),
    ] = False,
    output: Annotated[
        Path | None, typer.Option(help="--servers: report folder (default results/servers-*).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Benchmark the lab itself: bare ASGI and FastAPI ceilings, cached read, DB read."""
    # Only what was given: each benchmark keeps its own defaults.
    options = {"duration": duration, "rounds": rounds}
    given: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
    try:
        if server_choice:
            report = servers.run(connections=connections, **given)
            out = output or REPO / "results" / f"servers-{time.strftime('%Y%m%d-%H%M%S')}"
            servers_report.write(report, out)
            text = servers_report.render(report) + f"report: {out / 'report.md'}\n"
        elif telemetry_overhead:
            if ratio is not None:
                given["ratio"] = ratio
            report = overhead.run(connections=connections, processes=processes, **given)
            text = overhead.render(report)
        else:
            report = lab.run(connections=connections, **given)
            text = lab.render(report)
    except RuntimeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    sys.stdout.write(json.dumps(report, indent=2) + "\n" if as_json else text)
