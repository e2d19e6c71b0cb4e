"""Reading py-spy's speedscope JSON: stacks, and functions by own and total time.

A speedscope file holds one "sampled" profile per thread (per process with
`--subprocesses`), each a list of stacks (indices into shared frames, root first) with
a weight in seconds. py-spy puts a pseudo-frame `process <pid>:"<command>"` at the
root of each stack when it samples several processes; those are dropped here, so the
workers of one service add up into one picture.

A function is its name and file (py-spy's frame line is the line running, not the
definition). Its *own* time is the weight of samples where it is the leaf; its *total*
time the weight of samples where it is anywhere on the stack (once per sample, so
recursion does not count twice). Shares are of all the samples of the recording, that
is of the busy thread time: idle threads are not sampled.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from perflab.profile.memory import short_path

Function = tuple[str, str]  # (name, short path)


@dataclass(frozen=True)
class FunctionRow:
    name: str
    where: str
    own_seconds: float
    total_seconds: float
    own_share: float
    total_share: float

    @property
    def lab_code(self) -> bool:
        return is_lab_code(self.where)


def is_lab_code(where: str) -> bool:
    """The lab's own modules (short paths start with `perflab/`)."""
    return where.startswith("perflab/")


@dataclass
class Samples:
    stacks: list[tuple[tuple[Function, ...], float]]  # root first, with the weight (s)
    processes: int
    threads: int

    @property
    def seconds(self) -> float:
        return sum(weight for _, weight in self.stacks)

    @property
    def count(self) -> int:
        return len(self.stacks)


def _pseudo(frame: dict[str, object]) -> bool:
    return not frame.get("file") and str(frame.get("name", "")).startswith("process ")


def load(path: Path) -> Samples:
    doc = json.loads(path.read_text())
    frames = doc["shared"]["frames"]
    functions = [(str(f["name"]), short_path(str(f.get("file") or ""))) for f in frames]
    pseudo = {i for i, f in enumerate(frames) if _pseudo(f)}
    stacks: list[tuple[tuple[Function, ...], float]] = []
    pids = set()
    for profile in doc["profiles"]:
        name = str(profile.get("name", ""))
        if name.startswith("Process "):
            pids.add(name.split()[1])
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            kept = tuple(functions[i] for i in stack if i not in pseudo)
            if kept:
                stacks.append((kept, float(weight)))
    return Samples(stacks, processes=max(len(pids), 1), threads=len(doc["profiles"]))


def times(samples: Samples) -> dict[Function, tuple[float, float]]:
    """Function -> (own seconds, total seconds)."""
    own: dict[Function, float] = defaultdict(float)
    total: dict[Function, float] = defaultdict(float)
    for stack, weight in samples.stacks:
        own[stack[-1]] += weight
        for function in set(stack):
            total[function] += weight
    return {f: (own.get(f, 0.0), total[f]) for f in total}


def rows(samples: Samples) -> list[FunctionRow]:
    """Every function, most own time first."""
    whole = samples.seconds or 1.0
    found = [
        FunctionRow(name, where, own, total, own / whole, total / whole)
        for (name, where), (own, total) in times(samples).items()
    ]
    return sorted(found, key=lambda r: (-r.own_seconds, -r.total_seconds, r.name))


def top(samples: Samples, n: int) -> list[FunctionRow]:
    return rows(samples)[:n]


def top_by_total(samples: Samples, n: int, lab_only: bool = False) -> list[FunctionRow]:
    found = [r for r in rows(samples) if r.lab_code or not lab_only]
    return sorted(found, key=lambda r: (-r.total_seconds, r.name))[:n]


def folded(samples: Samples) -> dict[tuple[str, ...], float]:
    """Stacks as flame-graph labels (`name (where)`), weights added up."""
    out: dict[tuple[str, ...], float] = defaultdict(float)
    for stack, weight in samples.stacks:
        out[tuple(label(f) for f in stack)] += weight
    return dict(out)


def label(function: Function) -> str:
    name, where = function
    return f"{name} ({where})" if where else name


@dataclass(frozen=True)
class Change:
    name: str
    where: str
    before: float  # total share in the first recording (naive)
    after: float  # total share in the second (optimised)
    before_samples: int = 0
    after_samples: int = 0

    @property
    def delta(self) -> float:
        return self.after - self.before

    @property
    def noise(self) -> float:
        """Two standard errors of `delta`, as if every sample were independent: a move
        this small could be sampling luck. Samples of one slow request are not
        independent, so the real noise is larger; this is a floor."""
        if not self.before_samples or not self.after_samples:
            return 1.0
        variance = self.before * (1 - self.before) / self.before_samples
        variance += self.after * (1 - self.after) / self.after_samples
        return 2 * math.sqrt(variance)

    @property
    def beyond_noise(self) -> bool:
        return abs(self.delta) > self.noise


def changes(before: Samples, after: Samples, n: int, lab_only: bool = False) -> list[Change]:
    """The functions whose share of samples (total time) moved most between two
    recordings; `lab_only`: only the lab's own code (framework frames above a hot path
    all move together and can fill a table)."""
    a, b = times(before), times(after)
    whole_a, whole_b = before.seconds or 1.0, after.seconds or 1.0
    found = [
        Change(
            name, where, a.get(f, (0.0, 0.0))[1] / whole_a, b.get(f, (0.0, 0.0))[1] / whole_b,
            before.count, after.count,
        )
        for f in set(a) | set(b)
        for name, where in [f]
    ]  # fmt: skip
    if lab_only:
        found = [c for c in found if is_lab_code(c.where)]
    return sorted(found, key=lambda c: (-abs(c.delta), c.name))[:n]
