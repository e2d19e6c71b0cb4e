"""How each arm is loaded: how long it is measured, and at what pace Locust's users send.

Both follow the technique's key figure: a figure Prometheus samples needs arms long
enough for several scrapes, and one that grows with the request count a closed loop.
"""

from __future__ import annotations

from perflab.catalog import TECHNIQUES
from perflab.experiment.config import Config
from perflab.experiment.figures import KEY_FIGURES, SAMPLED_FIGURES
from perflab.experiment.prometheus import MIN_SCRAPES

SAMPLED = frozenset(f.name for f in SAMPLED_FIGURES)


def measured_seconds(config: Config, interval: float | None) -> tuple[float, str | None]:
    """How long each arm is measured: `--duration`, or longer when the key figure is
    sampled by Prometheus (a peak needs at least MIN_SCRAPES scrapes of the window)."""
    key, _ = KEY_FIGURES.get(config.flag, ("p95", None))
    if key not in SAMPLED or interval is None:
        return config.duration_seconds, None
    needed = MIN_SCRAPES * interval
    if config.duration_seconds >= needed:
        return config.duration_seconds, None
    return needed, (
        f"{config.flag}'s key figure ({key}) is sampled by Prometheus every {interval:g} s "
        f"and needs at least {MIN_SCRAPES} scrapes per window: each arm is measured for "
        f"{needed:g} s instead of {config.duration_seconds:g} s"
    )


# Measured closed loop: throughput; CPU per request (at a user's own pace the API's
# background work, samplers and flag listener, would outweigh the requests); and memo
# entries, which grow with the number of requests an arm makes. (A fixed rate was tried
# for memo entries: the naive arm's count then held, but the LRU arm's depended on how
# the ten connections split between the two workers: 364 to 512 entries.)
CLOSED_LOOP_FIGURES = frozenset({"rps", "server_rps", "api_cpu_per_request", "memo_entries"})
# Under an upstream fault the key figure is a tail made of the share of requests the
# fault hits. A short think time gives it several hundred requests per arm (~100 at the
# users' own pace put the naive p95 in or out of the spikes by chance), while ten users
# still leave a healthy Django or Flask (2 workers x 4 threads) unsaturated: only the
# threads a fault holds make requests queue (a closed loop queued every request there).
FAULT_THINK_SECONDS = 0.1
UNDER_FAULT = frozenset(name for name, spec in TECHNIQUES.items() if spec.experiment_fault)


def think_time(config: Config) -> float | None:
    """Locust's think time per user for this experiment (None: each class's own pace)."""
    if config.think_seconds is not None:
        return config.think_seconds
    if config.flag in UNDER_FAULT:
        return FAULT_THINK_SECONDS
    key, _ = KEY_FIGURES.get(config.flag, ("p95", None))
    return 0.0 if key in CLOSED_LOOP_FIGURES else None


def describe_pace(think_seconds: float | None) -> str:
    if think_seconds == 0:
        return "closed loop (no think time)"
    if think_seconds is not None:
        return f"{think_seconds:g} s think time per user"
    return "each user class's own pace"
