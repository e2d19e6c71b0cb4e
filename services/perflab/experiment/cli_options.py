"""What `lab experiment`'s options default to, and how their text is read.

The timings of one technique and of several, the shortest arm the figures can use,
`--duration` / `--warmup` in `lab load -t`'s syntax, `--seed`, and the local lab's
URLs (which `lab compare` defaults to as well).
"""

from __future__ import annotations

from dataclasses import dataclass

from perflab.lab.config import LabSettings
from perflab.lab.load import LoadError, seconds

# Requests/s is resampled over whole seconds: fewer than three give no interval.
MIN_DURATION = 3.0


@dataclass(frozen=True)
class Timing:
    duration: float
    warmup: float
    repeats: int
    users: int


# One technique: long arms. Several (--all): shorter pairs, so 15 techniques fit in
# 10 min. The same 10 users: more would queue the naive paths (latency then measures
# the queue) on an API pinned to one core.
SINGLE = Timing(duration=20, warmup=2, repeats=3, users=10)
ALL = Timing(duration=4, warmup=1, repeats=2, users=10)


def span(text: str, option: str, minimum: float) -> float:
    """`lab load -t`'s syntax (90, 8s, 2m, 1h30m), or plain seconds such as 1.5."""
    try:
        value = float(text)
    except ValueError:
        value = float(seconds(text))
    if value < minimum:
        raise LoadError(f"{option} {text!r} is shorter than {minimum:g} s")
    return value


def parse_seed(text: str) -> int | None:
    """`--seed`: an integer, or `random` for fresh draws (None)."""
    if text.strip().lower() == "random":
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{text!r}: expected an integer, or `random`") from None


def lab_urls() -> tuple[str, str, str]:
    ports = LabSettings().ports
    return (
        f"http://127.0.0.1:{ports.api}",
        f"http://127.0.0.1:{ports.prometheus}",
        f"http://127.0.0.1:{ports.worker_metrics}/metrics",
    )
