"""`lab load`'s live progress line, read from the run's own load-side metrics endpoint."""

from __future__ import annotations

import subprocess
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.live import Live
from rich.text import Text

from perflab.procs import stop_pid

_WANTED = {"perflab_loadgen_users", "perflab_loadgen_requests", "perflab_loadgen_failures"}


def scrape(port: int) -> dict[str, float]:
    """Users, requests and failures from the run's metrics endpoint ({} if not up yet)."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).text
    except httpx.HTTPError:
        return {}
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name in _WANTED:
            key = family.name.removeprefix("perflab_loadgen_")
            found[key] = sum(s.value for s in family.samples if not s.name.endswith("_created"))
    return found


def progress_line(label: str, elapsed: float, planned: int | None, now: dict[str, float],
                  rps: float) -> Text:  # fmt: skip
    failures = int(now.get("failures", 0))
    return Text.assemble(
        ("▶ ", "cyan"),
        f"{label} · {elapsed:.0f}s{f'/{planned}s' if planned else ''}",
        f" · users {int(now.get('users', 0))} · {rps:.0f} req/s",
        f" · {int(now.get('requests', 0))} requests · ",
        (f"{failures} failures", "red" if failures else "green"),
    )


def watch(proc: subprocess.Popen[bytes], port: int, console: Console, label: str,
          planned: int | None) -> None:  # fmt: skip
    """Refresh the progress line each second (a plain line every 5 s when not a terminal).

    A run that overruns its planned length by two minutes is stopped (by its PID).
    """
    started = time.monotonic()
    shown: dict[str, float] = {}
    last: tuple[float, float] | None = None
    rps, printed = 0.0, 0.0
    with Live(console=console, auto_refresh=False, transient=True) as live:
        while proc.poll() is None:
            now, moment = scrape(port), time.monotonic()
            if now:
                if last is not None and moment > last[0]:
                    rps = max(0.0, (now.get("requests", 0) - last[1]) / (moment - last[0]))
                last, shown = (moment, now.get("requests", 0)), now
            line = progress_line(label, moment - started, planned, shown, rps)
            if console.is_terminal:
                live.update(line, refresh=True)
            elif moment - printed >= 5:
                console.print(line)
                printed = moment
            if planned is not None and moment - started > planned + 120:
                console.print(f"Locust overran its {planned} s run; stopping it")
                stop_pid(proc.pid, timeout=30)
            try:
                proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
    if shown:
        console.print(progress_line(label, time.monotonic() - started, planned, shown, rps))
