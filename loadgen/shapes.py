"""Load shapes: ramp, step, spike, soak.

Each shape draws a user-count curve over the test's length. `--users` is the peak
and `--run-time` the length (so `--run-time 10s` squeezes a whole spike into ten
seconds); without `--run-time` each shape uses its own length. The curve is followed
each second, so the spawn rate only has to be fast enough to keep up.
Pick one with `--shape NAME` / `LOCUST_SHAPE=NAME`, or in the UI's class picker.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from locust import LoadTestShape

DEFAULT_PEAK = 10


class PerflabShape(LoadTestShape):
    abstract = True
    # Read --users / --spawn-rate / --run-time (they shape the curve, not replace it).
    use_common_options = True
    name: ClassVar[str] = ""
    default_seconds: ClassVar[float] = 300.0

    @staticmethod
    def users_at(fraction: float, peak: int) -> int:
        """Users wanted at `fraction` (0..1) of the test; overridden by each shape."""
        raise NotImplementedError

    def _option(self, name: str) -> Any:
        runner = self.runner
        options = runner.environment.parsed_options if runner is not None else None
        return getattr(options, name, None)

    def total_seconds(self) -> float:
        return float(self._option("run_time") or self.default_seconds)

    def tick(self) -> tuple[int, float] | None:
        total = self.total_seconds()
        elapsed = self.get_run_time()
        if elapsed >= total:
            return None
        peak = max(1, int(self._option("num_users") or DEFAULT_PEAK))
        rate = float(self._option("spawn_rate") or 1)
        return self.users_at(elapsed / total, peak), max(rate, float(peak))


class RampShape(PerflabShape):
    """Linear ramp from 1 to the peak over 60% of the run, then hold."""

    name = "ramp"
    default_seconds = 300.0

    @staticmethod
    def users_at(fraction: float, peak: int) -> int:
        return max(1, min(peak, math.ceil(peak * fraction / 0.6)))


class StepShape(PerflabShape):
    """Five equal steps up to the peak: where does latency bend?"""

    name = "step"
    default_seconds = 300.0
    steps: ClassVar[int] = 5

    @staticmethod
    def users_at(fraction: float, peak: int) -> int:
        step = min(StepShape.steps - 1, int(fraction * StepShape.steps))
        return max(1, math.ceil(peak * (step + 1) / StepShape.steps))


class SpikeShape(PerflabShape):
    """A fifth of the peak, a sudden burst to the peak in the middle fifth, then back."""

    name = "spike"
    default_seconds = 180.0

    @staticmethod
    def users_at(fraction: float, peak: int) -> int:
        return peak if 0.4 <= fraction < 0.6 else max(1, peak // 5)


class SoakShape(PerflabShape):
    """Quick ramp (10% of the run), then the peak held for a long time: leaks, drift."""

    name = "soak"
    default_seconds = 1800.0

    @staticmethod
    def users_at(fraction: float, peak: int) -> int:
        return max(1, min(peak, math.ceil(peak * fraction / 0.1)))


SHAPES: dict[str, type[PerflabShape]] = {
    cls.name: cls for cls in (RampShape, StepShape, SpikeShape, SoakShape)
}
