"""`lab smoke`'s last check: a short Locust burst at one service, with zero failures.

A 10-user `lab load` run of scenario `all` (`perflab.lab.load.run_load`); its reports
go to a temp folder removed after, unless the caller names one to keep.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from rich.console import Console

from perflab.lab.load import LoadError, LoadOptions, run_load
from perflab.lab.smoke_checks import Check


def check_burst(api: str, seconds: int, output: Path | None) -> Check:
    """A short Locust run; its reports go to `output`, or to a temp folder removed after."""
    if output is not None:
        return _burst(api, seconds, output, keep=True)
    with tempfile.TemporaryDirectory(prefix="perflab-smoke-") as scratch:
        return _burst(api, seconds, Path(scratch), keep=False)


def _log_tail(log: Path, lines: int = 5) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def _burst(api: str, seconds: int, out: Path, *, keep: bool) -> Check:
    what = f"{seconds}-second Locust burst at {api}, zero failures"
    opts = LoadOptions(scenario="all", users=10, spawn_rate=10, duration=f"{seconds}s", host=api,
                       output=out)  # fmt: skip
    try:
        result = run_load(opts, Console(quiet=True))
    except LoadError as exc:
        return Check("locust", what, False, str(exc))
    total = result.total
    if total is None or total.requests == 0:
        # The folder goes away with this call unless kept: quote the log, not its path.
        log = out / "locust.log"
        where = f"see {log}" if keep else f"locust.log ends: {_log_tail(log)}"
        return Check("locust", what, False, f"no requests made; {where}")
    if not result.ok:
        worst = "; ".join(f"{f.occurrences}× {f.name}: {f.error}" for f in result.failures[:3])
        return Check("locust", what, False, f"{total.failures}/{total.requests} failed: {worst}")
    return Check(
        "locust",
        what,
        True,
        f"{total.requests} requests, 0 failures" + (f" ({out})" if keep else ""),
    )
