"""What an effect means against the lab's promise, and how much repeats agree.

Every factor here is an improvement: how many times better the figure is with the
flag on (B) than off (A), in the figure's better direction (>1: the flag helps).

Verdicts against a promise P (three states, always shown next to the point estimate
and its 95% confidence interval):
- met: the interval's lower end reaches P, so the effect is at least P with 95%
  confidence;
- likely: the point estimate reaches P but the interval reaches below it;
- missed: the point estimate is below P.

Repeats agree when the improvement measured in each A/B pair alone lies within
`AGREEMENT` of the others: spread = largest / smallest − 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

State = Literal["met", "likely", "missed"]
AGREEMENT = 0.10  # repeats disagreeing by more than this are flagged


@dataclass(frozen=True)
class Effect:
    factor: float  # the point estimate
    low: float | None = None  # the 95% interval, when there is one
    high: float | None = None

    def describe(self) -> str:
        ci = (
            f" (95% CI {self.low:.2f}–{self.high:.2f}×)"
            if self.low is not None and self.high is not None
            else " (no CI)"
        )
        worse = " (worse)" if self.factor < 1 else ""
        return f"{self.factor:.2f}×{worse}{ci}"


def taken_to_zero(better: str | None, a: object, b: object) -> bool:
    """Lower is better and the flag took the figure from some (A) to none (B): there is
    no finite improvement, and any promise is met."""
    return better == "lower" and isinstance(a, int | float) and a > 0 and b == 0


def state(effect: Effect, promise: float) -> State:
    if effect.low is not None and effect.low >= promise:
        return "met"
    if effect.factor >= promise:
        return "likely"
    return "missed"


def against(effect: Effect, promise: float) -> str:
    """`5.23× (95% CI 4.53–5.81×), promised ≥ 5×: likely`."""
    return f"{effect.describe()}, promised ≥ {promise:g}×: {state(effect, promise)}"


@dataclass(frozen=True)
class Spread:
    factors: tuple[float, ...]  # the improvement of each A/B pair, in run order

    @property
    def value(self) -> float | None:
        """Largest / smallest − 1; None with fewer than two pairs."""
        if len(self.factors) < 2 or min(self.factors) <= 0:
            return None
        return max(self.factors) / min(self.factors) - 1

    @property
    def disagree(self) -> bool:
        return self.value is not None and self.value > AGREEMENT

    def describe(self) -> str:
        each = " / ".join(f"{f:.2f}" for f in self.factors)
        if self.value is None:
            return f"{each}×" if self.factors else "–"
        flag = " **disagree**" if self.disagree else ""
        return f"{each}× (spread {self.value:.0%}){flag}"


def spread(factors: Sequence[float | None]) -> Spread:
    return Spread(tuple(f for f in factors if f is not None))
