"""CPU-bound work for the cpu_offload technique: the Fibonacci membership check.

Kept free of heavy imports: a process pool's children import this module to run it.
"""

from __future__ import annotations

import math


def _is_square(x: int) -> bool:
    root = math.isqrt(x)
    return root * root == x


def is_fibonacci(k: int) -> bool:
    """Gessel's test: k >= 0 is a Fibonacci number iff 5k^2 + 4 or 5k^2 - 4 is a square."""
    t = 5 * k * k
    return _is_square(t + 4) or (t >= 4 and _is_square(t - 4))


def fibonacci_up_to(n: int) -> list[int]:
    """Every Fibonacci number in 1..n, found the CPU-heavy way: testing each integer.

    About 0.2 us of pure Python per integer, so n = 200_000 is ~40 ms of CPU.
    """
    return [k for k in range(1, n + 1) if is_fibonacci(k)]
