"""The check every telemetry_sampling test makes of a head-sampled count."""

from __future__ import annotations

import math


def assert_about_ratio(sampled: int, requests: int, ratio: float) -> None:
    """`sampled` of `requests` traced is a Binomial(requests, ratio) draw: within 5
    standard deviations of its mean, and never all of them."""
    spread = 5 * math.sqrt(requests * ratio * (1 - ratio)) + 1
    assert abs(sampled - ratio * requests) <= spread, (sampled, requests, ratio)
    assert sampled < requests
