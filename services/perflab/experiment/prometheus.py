"""The figures that need sampling over time (a peak, a maximum), read from Prometheus.

Only over windows of at least `MIN_SCRAPES` scrape intervals: a shorter window holds
too few samples for a peak to mean anything, and the figure says so instead.
"""

from __future__ import annotations

import math

import httpx
import yaml

from perflab.experiment.figure_types import Reading, SampledFigure

MIN_SCRAPES = 4
DEFAULT_INTERVAL = 15.0  # Prometheus' own default, when the config does not say


def _seconds(duration: str) -> float:
    """A Prometheus duration such as `5s`, `1m` or `500ms`, in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for suffix in ("ms", "s", "m", "h"):
        if duration.endswith(suffix):
            return float(duration[: -len(suffix)]) * units[suffix]
    raise ValueError(f"not a Prometheus duration: {duration!r}")


class PrometheusReader:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.client = httpx.Client(timeout=timeout)

    def ready(self) -> bool:
        try:
            return self.client.get(f"{self.url}/-/ready").status_code == 200
        except httpx.HTTPError:
            return False

    def scrape_interval(self, job: str = "api") -> float:
        """How often Prometheus scrapes `job` (its own setting, else the global one)."""
        answer = self.client.get(f"{self.url}/api/v1/status/config")
        answer.raise_for_status()
        config = yaml.safe_load(answer.json()["data"]["yaml"]) or {}
        interval = (config.get("global") or {}).get("scrape_interval")
        for scrape in config.get("scrape_configs") or []:
            if scrape.get("job_name") == job and scrape.get("scrape_interval"):
                interval = scrape["scrape_interval"]
        return _seconds(interval) if interval else DEFAULT_INTERVAL

    def scalar(self, query: str, at: float) -> float | None:
        answer = self.client.get(f"{self.url}/api/v1/query", params={"query": query, "time": at})
        answer.raise_for_status()
        result = answer.json()["data"]["result"]
        if not result:
            return None
        value = float(result[0]["value"][1])
        return None if math.isnan(value) or math.isinf(value) else value

    def sampled(
        self,
        figure: SampledFigure,
        *,
        ended: float,
        seconds: float,
        interval: float,
        service: str = "fastapi",
    ) -> Reading:
        needed = MIN_SCRAPES * interval
        if seconds < needed:
            return None, (
                f"sampled by Prometheus every {interval:g} s: needs windows of at least "
                f"{needed:g} s ({MIN_SCRAPES} scrapes; --duration {needed:g})"
            )
        # One interval less than the window: the first step's latest sample is inside it.
        span = max(1, math.floor(seconds - interval))
        value = self.scalar(figure.render(span, service), ended)
        return value, "Prometheus holds no sample of it for this window"

    def close(self) -> None:
        self.client.close()
