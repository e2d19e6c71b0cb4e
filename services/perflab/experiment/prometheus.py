"""Server-side figures of each arm window, read back from Prometheus."""

from __future__ import annotations

import math

import httpx

from perflab.experiment.arm import ArmRun
from perflab.experiment.figures import SERVER_FIGURES, ServerFigure


class PrometheusReader:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.client = httpx.Client(timeout=timeout)

    def ready(self) -> bool:
        try:
            return self.client.get(f"{self.url}/-/ready").status_code == 200
        except httpx.HTTPError:
            return False

    def scalar(self, query: str, at: float) -> float | None:
        answer = self.client.get(f"{self.url}/api/v1/query", params={"query": query, "time": at})
        answer.raise_for_status()
        result = answer.json()["data"]["result"]
        if not result:
            return None
        value = float(result[0]["value"][1])
        return None if math.isnan(value) or math.isinf(value) else value

    def figure(
        self, figure: ServerFigure, arm: ArmRun, route: str, technique: str, service: str
    ) -> float | None:
        window = max(1, int(arm.window_seconds))
        query = figure.render(
            route=route, technique=technique, window_seconds=window, service=service
        )
        return self.scalar(query, arm.ended)

    def arm_figures(
        self, arm: ArmRun, route: str, technique: str, service: str = "fastapi"
    ) -> dict[str, float | None]:
        return {f.name: self.figure(f, arm, route, technique, service) for f in SERVER_FIGURES}

    def close(self) -> None:
        self.client.close()
