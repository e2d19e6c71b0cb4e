"""Bootstrap confidence intervals for the ratio B/A of a statistic of two samples.

Each arm's samples are resampled with replacement independently; the interval is the
percentile interval of the resampled ratios. Deterministic for a given seed, so a
report can be reproduced from its results.json.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# A statistic reduces along `axis`: the bootstrap applies it to a block of resamples at once.
Statistic = Callable[..., Any]
# Huge arms are resampled m-out-of-n: a slightly wider (conservative) interval, bounded cost.
MAX_BOOT_SAMPLE = 20_000
# Resamples drawn per block: bounds the block's memory (8 bytes an element).
BLOCK_ELEMENTS = 2_000_000


def quantile(q: float) -> Statistic:
    def stat(values: np.ndarray, axis: int | None = None) -> Any:
        return np.quantile(values, q, axis=axis)

    stat.__name__ = f"p{round(q * 100)}"
    return stat


def mean(values: np.ndarray, axis: int | None = None) -> Any:
    return np.mean(values, axis=axis)


def median(values: np.ndarray, axis: int | None = None) -> Any:
    return np.median(values, axis=axis)


def maximum(values: np.ndarray, axis: int | None = None) -> Any:
    return np.max(values, axis=axis)


def point(statistic: Statistic, values: Sequence[float]) -> float | None:
    """The statistic of one sample; None when it is empty."""
    return float(statistic(np.asarray(values, dtype=float))) if len(values) else None


@dataclass(frozen=True)
class RatioEstimate:
    a: float
    b: float
    ratio: float | None  # b / a; None when a is 0
    low: float | None
    high: float | None
    n_a: int
    n_b: int


def _ratio(b: float, a: float) -> float | None:
    if a == 0:
        return None if b != 0 else 1.0
    return b / a


def bootstrap_ratio(
    a: Sequence[float],
    b: Sequence[float],
    statistic: Statistic,
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 7,
) -> RatioEstimate:
    arr_a = np.asarray(a, dtype=float)
    arr_b = np.asarray(b, dtype=float)
    if arr_a.size == 0 or arr_b.size == 0:
        raise ValueError("both arms need at least one sample")
    est_a, est_b = float(statistic(arr_a)), float(statistic(arr_b))
    rng = np.random.default_rng(seed)
    boot_a = _resample(rng, arr_a, statistic, n_boot)
    boot_b = _resample(rng, arr_b, statistic, n_boot)
    valid = boot_a != 0
    ratios = boot_b[valid] / boot_a[valid]
    tail = (1 - confidence) / 2
    low = high = None
    if ratios.size >= n_boot // 2:
        low, high = (float(x) for x in np.quantile(ratios, [tail, 1 - tail]))
    return RatioEstimate(
        a=est_a,
        b=est_b,
        ratio=_ratio(est_b, est_a),
        low=low,
        high=high,
        n_a=int(arr_a.size),
        n_b=int(arr_b.size),
    )


def _resample(
    rng: np.random.Generator, values: np.ndarray, statistic: Statistic, n_boot: int
) -> np.ndarray:
    size = min(values.size, MAX_BOOT_SAMPLE)
    rows = max(1, BLOCK_ELEMENTS // size)
    out = np.empty(n_boot)
    for first in range(0, n_boot, rows):
        last = min(n_boot, first + rows)
        out[first:last] = statistic(rng.choice(values, size=(last - first, size)), axis=1)
    return out
