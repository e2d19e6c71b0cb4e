"""One recording of a target: choose its processes, run py-spy, draw the flame graph.

`--processes all` (the default) points py-spy at the target's root process with
`--subprocesses`, so every worker is sampled and they add up in one picture;
`--processes busiest` measures each serving process's CPU for a second and samples
only the busiest. Under Docker the container's PID 1 and its children are sampled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from perflab.lab.components import LabContext
from perflab.lab.docker import ComposeStack
from perflab.lab.profiling import sampler, targets
from perflab.profile import flamegraph, speedscope

SPEEDSCOPE = "profile.speedscope.json"
FLAMEGRAPH = "flamegraph.svg"


@dataclass(frozen=True)
class Plan:
    target: targets.Target
    seconds: int
    rate: int = 100
    processes: str = "all"  # all | busiest
    pid: int | None = None
    docker: bool = False
    index: int = 1  # which replica of the compose service


@dataclass(frozen=True)
class Result:
    folder: Path
    samples: speedscope.Samples
    recording: sampler.Recording
    sampled: str  # which processes, in words

    @property
    def speedscope(self) -> Path:
        return self.folder / SPEEDSCOPE

    @property
    def flamegraph(self) -> Path:
        return self.folder / FLAMEGRAPH


def record(plan: Plan, ctx: LabContext, folder: Path, title: str) -> Result:
    out = folder / SPEEDSCOPE
    if plan.docker:
        service = plan.target.compose_service
        recording = sampler.record_in_container(
            ComposeStack(), service, plan.index, out, plan.seconds, plan.rate
        )
        sampled = f"container {service} #{plan.index}: PID 1 and its children"
    else:
        procs = targets.find(plan.target, ctx, plan.pid)
        if plan.processes == "busiest":
            pid, usage = targets.busiest(procs.serving)
            others = ", ".join(f"{p}: {u:.0f}%" for p, u in sorted(usage.items()))
            sampled = f"busiest process {pid} (CPU over 1 s: {others}); root from {procs.found}"
            recording = sampler.record(pid, out, plan.seconds, plan.rate, subprocesses=False)
        else:
            serving = ", ".join(map(str, procs.serving))
            sampled = (
                f"all {len(procs.serving)} serving processes ({serving}) under pid {procs.root} "
                f"({procs.found})"
            )
            recording = sampler.record(procs.root, out, plan.seconds, plan.rate, subprocesses=True)
    samples = speedscope.load(out)
    subtitle = (
        f"{samples.count} samples at {plan.rate} Hz over {plan.seconds} s · {sampled}"
        if samples.count
        else "no busy samples: is the target under load?"
    )
    svg = flamegraph.render(speedscope.folded(samples), title=title, subtitle=subtitle[:180])
    (folder / FLAMEGRAPH).write_text(svg)
    return Result(folder, samples, recording, sampled)
