"""One arm of an experiment: set the flag, run Locust for a while, keep raw samples."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from perflab.lab.load import LOCUST_CONF, LOCUSTFILE, REPO, loadgen
from perflab.procs import stop_pid

SAMPLES_PLUGIN = Path(__file__).with_name("locust_samples.py")


@dataclass(frozen=True)
class Sample:
    at: float
    name: str
    seconds: float
    size: int
    failed: bool


@dataclass
class ArmRun:
    label: str  # "A" (flag off) or "B" (flag on)
    repeat: int
    enabled: bool
    started: float  # Locust started
    measured_from: float  # after the warm-up, what the figures cover
    ended: float
    samples: list[Sample]

    @property
    def window_seconds(self) -> float:
        return self.ended - self.measured_from

    def measured(self) -> list[Sample]:
        return [s for s in self.samples if self.measured_from <= s.at <= self.ended]


@dataclass(frozen=True)
class LoadPlan:
    host: str
    scenario: str
    users: int
    warmup_seconds: int
    duration_seconds: int
    think_seconds: float | None = 0.0  # None: each user class's own wait time


class ArmRunner:
    """Runs Locust arms; remembers the live process so an interrupt can stop it."""

    def __init__(self, plan: LoadPlan, out: Path) -> None:
        self.plan = plan
        self.out = out
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        run_time = self.plan.warmup_seconds + self.plan.duration_seconds
        return [
            sys.executable, "-m", "locust",
            "-f", f"{LOCUSTFILE},{SAMPLES_PLUGIN}",
            "--config", str(LOCUST_CONF),
            "--headless", "--only-summary", "--host", self.plan.host,
            "--users", str(self.plan.users), "--spawn-rate", str(self.plan.users),
            "--run-time", f"{run_time}s", "--stop-timeout", "5",
            *loadgen("scenarios").locust_args(self.plan.scenario),
        ]  # fmt: skip

    def run(self, label: str, repeat: int, enabled: bool) -> ArmRun:
        samples_file = self.out / "samples" / f"{label}{repeat}.csv"
        samples_file.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, PERFLAB_SAMPLES_FILE=str(samples_file))
        if self.plan.think_seconds is not None:
            env["PERFLAB_THINK_SECONDS"] = str(self.plan.think_seconds)
        # The experiment reads raw samples; the lab's Locust UI may hold the exporter port.
        env["PERFLAB_LOADGEN_METRICS_PORT"] = "0"
        log = self.out / "logs" / f"locust-{label}{repeat}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        started = time.time()
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                self.command(), stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, cwd=REPO, env=env, start_new_session=True,
            )  # fmt: skip
            try:
                self.proc.wait()
            finally:
                if self.proc.poll() is None:
                    stop_pid(self.proc.pid, timeout=15)
                self.proc = None
        samples = read_samples(samples_file)
        if not samples:
            raise RuntimeError(f"Locust made no requests in arm {label}{repeat}; see {log}")
        first = samples[0].at
        return ArmRun(
            label=label,
            repeat=repeat,
            enabled=enabled,
            started=started,
            measured_from=first + self.plan.warmup_seconds,
            ended=samples[-1].at,
            samples=samples,
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            stop_pid(self.proc.pid, timeout=15)


def read_samples(path: Path) -> list[Sample]:
    if not path.exists():
        return []
    with open(path, newline="") as src:
        rows = [
            Sample(float(at), name, float(ms) / 1000, int(size), failed == "1")
            for at, name, ms, size, failed in csv.reader(src)
        ]
    return sorted(rows, key=lambda s: s.at)
