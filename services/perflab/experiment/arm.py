"""The load of an experiment, and its arm windows.

One Locust process runs for a whole technique while the flag is flipped under it: an
arm is a window of that steady load, after a flip and a warm-up, not a Locust start
of its own (which cost seconds per arm and a ramp in every window). Locust keeps
every request (the samples plugin); each arm takes the ones that ended in its window.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from perflab.lab.load import LOCUST_CONF, LOCUSTFILE, REPO, loadgen
from perflab.procs import stop_pid

SAMPLES_PLUGIN = Path(__file__).with_name("locust_samples.py")


@dataclass(frozen=True)
class Sample:
    at: float  # when the answer ended (unix time)
    name: str
    seconds: float
    size: int
    failed: bool
    variant: str = ""  # X-Technique-Variant of the answer ("" when it had none)


@dataclass
class ArmRun:
    label: str  # "A" (flag off) or "B" (flag on)
    repeat: int
    enabled: bool
    started: float  # the flip
    measured_from: float  # after the warm-up: the window's start scrape
    ended: float  # the window's end scrape
    samples: list[Sample] = field(default_factory=list)  # those that ended in the window
    # Requests of the window answered by the other variant (a flip not yet seen).
    stray: int = 0

    @property
    def window_seconds(self) -> float:
        return self.ended - self.measured_from

    def measured(self) -> list[Sample]:
        return self.samples

    def take(self, samples: list[Sample], variant: str) -> None:
        inside = [s for s in samples if self.measured_from <= s.at <= self.ended]
        self.samples = [s for s in inside if not s.variant or s.variant == variant]
        self.stray = len(inside) - len(self.samples)


@dataclass(frozen=True)
class LoadPlan:
    host: str
    scenario: str
    users: int
    think_seconds: float | None = 0.0  # None: each user class's own wait time
    load_cores: set[int] | None = None  # pin Locust here (None: anywhere)
    seed: int | None = None  # the users' ids, pages and keys (None: fresh draws)


class LoadRun:
    """One Locust process, started once, stopped when the windows are done."""

    def __init__(self, plan: LoadPlan, out: Path, name: str = "load") -> None:
        self.plan = plan
        self.samples_file = out / "samples" / f"{name}.csv"
        self.log = out / "logs" / f"locust-{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self, run_time: int) -> list[str]:
        return [
            sys.executable, "-m", "locust",
            "-f", f"{LOCUSTFILE},{SAMPLES_PLUGIN}",
            "--config", str(LOCUST_CONF),
            "--headless", "--only-summary", "--host", self.plan.host,
            "--users", str(self.plan.users), "--spawn-rate", str(self.plan.users),
            "--run-time", f"{run_time}s", "--stop-timeout", "1",  # after the last window
            *loadgen("scenarios").locust_args(self.plan.scenario),
        ]  # fmt: skip

    def environment(self, shell: Mapping[str, str]) -> dict[str, str]:
        """Locust's environment: the plan's pace and seed, never ones left in the shell."""
        # A rate left in the shell would override the plan's pace too.
        planned = ("PERFLAB_THINK_SECONDS", "PERFLAB_RATE_PER_USER", "PERFLAB_LOAD_SEED")
        env = {k: v for k, v in shell.items() if k not in planned}
        env["PERFLAB_SAMPLES_FILE"] = str(self.samples_file)
        if self.plan.think_seconds is not None:
            env["PERFLAB_THINK_SECONDS"] = str(self.plan.think_seconds)
        if self.plan.seed is not None:
            env["PERFLAB_LOAD_SEED"] = str(self.plan.seed)
        # The experiment reads raw samples; the lab's Locust UI may hold the exporter port.
        env["PERFLAB_LOADGEN_METRICS_PORT"] = "0"
        return env

    def start(self, run_time: int) -> None:
        """Start Locust (stopped by `stop` long before `run_time`, a safety bound)."""
        for path in (self.samples_file, self.log):
            path.parent.mkdir(parents=True, exist_ok=True)
        self.first_request.unlink(missing_ok=True)
        cores = self.plan.load_cores
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                self.command(run_time), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, cwd=REPO, env=self.environment(os.environ),
                start_new_session=True,
                preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if cores else None,
            )  # fmt: skip

    @property
    def first_request(self) -> Path:
        return self.samples_file.with_suffix(".started")

    def wait_first_request(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.first_request.exists():
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"Locust exited before its first request; see {self.log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Locust made no request in {timeout:.0f} s; see {self.log}")
            time.sleep(0.05)

    def stop(self) -> list[Sample]:
        """Stop Locust (SIGTERM: it writes its samples as it quits) and read them."""
        if self.proc is not None:
            if self.proc.poll() is None:
                stop_pid(self.proc.pid, timeout=20)
            self.proc = None
        return read_samples(self.samples_file)


def read_samples(path: Path) -> list[Sample]:
    if not path.exists():
        return []
    with open(path, newline="") as src:
        rows = [
            Sample(float(at), name, float(ms) / 1000, int(size), failed == "1", variant)
            for at, name, ms, size, failed, variant in csv.reader(src)
        ]
    return sorted(rows, key=lambda s: s.at)
