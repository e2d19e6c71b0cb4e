"""`lab profile TARGET --flag FLAG`: the naive and the optimised variant, seen from inside.

Under one load (by default a bounded Locust run of the technique's own scenario,
closed loop; `--no-load` profiles under whatever load already runs) the flag is turned
off, the target sampled, the flag turned on, the target sampled again, and the flag put
back as it was, also on Ctrl-C. Each variant gets its flame graph and speedscope file;
the change table lists the functions whose share of the samples moved most.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from perflab.lab.components import LabContext
from perflab.lab.flags_client import FlagsClient, FlagsError
from perflab.lab.load import LOCUST_CONF, LOCUSTFILE, REPO, loadgen
from perflab.lab.profiling import recorder
from perflab.procs import stop_pid
from perflab.profile import speedscope

VARIANTS = (("naive", False), ("optimised", True))
SETTLE_SECONDS = 2.0  # a flip reaches every process within 1 s


class CompareError(RuntimeError):
    """The flag is unknown, the API refuses the flip, or the load did not start."""


@dataclass(frozen=True)
class Comparison:
    naive: recorder.Result
    optimised: recorder.Result
    changes: list[speedscope.Change]
    lab_changes: list[speedscope.Change]  # the lab's own code only


def locust_command(api: str, scenario: str, users: int, run_seconds: int) -> list[str]:
    return [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--config", str(LOCUST_CONF),
        "--headless", "--only-summary", "--host", api,
        "--users", str(users), "--spawn-rate", str(users),
        "--run-time", f"{run_seconds}s", "--stop-timeout", "3",
        *loadgen("scenarios").locust_args(scenario),
    ]  # fmt: skip


@contextmanager
def locust_load(api: str, scenario: str, users: int, seconds: int, log: Path) -> Iterator[None]:
    """A headless Locust run, no think time, stopped (by pid) when the block ends."""
    env = dict(os.environ, PERFLAB_THINK_SECONDS="0", PYTHONUNBUFFERED="1")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            locust_command(api, scenario, users, seconds), stdout=out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO, env=env,
            start_new_session=True,
        )  # fmt: skip
    try:
        time.sleep(SETTLE_SECONDS)  # users spawned and hitting the endpoint
        if proc.poll() is not None:
            raise CompareError(f"Locust exited at once (code {proc.returncode}), see {log}")
        yield
    finally:
        stop_pid(proc.pid, timeout=15)
        proc.wait()


def run(
    plan: recorder.Plan,
    flag: str,
    ctx: LabContext,
    out: Path,
    *,
    users: int = 4,
    drive_load: bool = True,
    top: int = 15,
    say: Callable[[str], object] = print,
) -> Comparison:
    results: dict[str, recorder.Result] = {}
    with FlagsClient(ctx.api_url) as flags:
        try:
            before = {f["name"]: bool(f["enabled"]) for f in flags.list()}
        except FlagsError as exc:
            raise CompareError(str(exc)) from exc
        if flag not in before:
            raise CompareError(f"unknown flag {flag!r}; `lab flags` lists them")
        load_seconds = 2 * (int(SETTLE_SECONDS) + plan.seconds) + 30
        try:
            with (
                locust_load(ctx.api_url, flag, users, load_seconds, out / "locust.log")
                if drive_load
                else _no_load()
            ):
                for variant, enabled in VARIANTS:
                    flags.set(flag, enabled)
                    time.sleep(SETTLE_SECONDS)
                    state = "on" if enabled else "off"
                    say(f"{flag} {state} ({variant}): sampling {plan.seconds} s")
                    title = f"{plan.target.name} · {flag} {variant} (flag {state})"
                    results[variant] = recorder.record(plan, ctx, out / variant, title)
        except FlagsError as exc:
            raise CompareError(str(exc)) from exc
        finally:
            flags.set(flag, before[flag])  # put back, also on Ctrl-C or a failure
    naive, optimised = results["naive"], results["optimised"]
    a, b = naive.samples, optimised.samples
    return Comparison(
        naive,
        optimised,
        speedscope.changes(a, b, top),
        speedscope.changes(a, b, top, lab_only=True),
    )


@contextmanager
def _no_load() -> Iterator[None]:
    yield
