"""Read one sample of a service's /metrics (every worker merged)."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families


def sample(client: httpx.Client, name: str, **labels: str) -> float:
    """The value of `name` (a full sample name, e.g. `..._total`) with these labels; 0
    when the series does not exist yet."""
    text = client.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return float(found.value)
    return 0.0
