"""What the console reads: each service's API, Prometheus' HTTP API, Alertmanager's API v2.

Every call has a short timeout; a source that does not answer raises `Unavailable`
naming it, which the routes turn into a 503 (or a note on the page).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import httpx

from perflab.console import overview, signals
from perflab.console.config import ConsoleSettings, ServiceRef

TIMEOUT_SECONDS = 5.0
# The flips marked on the charts: every chart of one page refresh shares one read.
FLIP_MARKS = 200
FLIP_MARKS_TTL_SECONDS = 2.0


class Unavailable(RuntimeError):
    """A source did not answer (or answered an error); the message names it."""


async def _json(client: httpx.AsyncClient, source: str, url: str, **params: Any) -> Any:
    try:
        answer = await client.get(url, params=params or None, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        raise Unavailable(f"{source} unreachable at {url} ({type(exc).__name__})") from exc
    if answer.status_code != 200:
        raise Unavailable(f"{source} answered HTTP {answer.status_code} at {url}")
    return answer.json()


class Sources:
    def __init__(self, settings: ConsoleSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self._kinds: dict[str, str | None] = {}
        self._marks: tuple[float, list[dict[str, Any]]] | None = None

    # -- the services --------------------------------------------------------------

    async def techniques(self, service: ServiceRef) -> list[dict[str, Any]]:
        body = await _json(self.client, service.name, f"{service.url}/techniques")
        return list(body["techniques"])

    # Flags are shared by every service (one Redis): one API reads and flips them.

    async def flags(self) -> list[dict[str, Any]]:
        service = self.settings.flags_service
        body = await _json(self.client, service.name, f"{service.url}/flags")
        return list(body["flags"])

    async def history(self, limit: int = 50) -> list[dict[str, Any]]:
        service = self.settings.flags_service
        url = f"{service.url}/flags/history"
        return list(await _json(self.client, service.name, url, limit=limit))

    async def flip_marks(self) -> list[dict[str, Any]]:
        """The recent flips the charts mark, read at most once per TTL; none when the
        flags service does not answer (the charts are still worth showing)."""
        now = time.monotonic()
        if self._marks is None or now - self._marks[0] > FLIP_MARKS_TTL_SECONDS:
            try:
                self._marks = (now, await self.history(limit=FLIP_MARKS))
            except Unavailable:
                return []
        return self._marks[1]

    async def set_flag(self, name: str, enabled: bool, authorization: str | None) -> httpx.Response:
        service = self.settings.flags_service
        headers = {"X-Perflab-Actor": "console"}
        if authorization:
            headers["Authorization"] = authorization
        url = f"{service.url}/flags/{name}"
        try:
            return await self.client.put(
                url, json={"enabled": enabled}, headers=headers, timeout=TIMEOUT_SECONDS
            )
        except httpx.HTTPError as exc:
            raise Unavailable(f"{service.name} unreachable at {url}") from exc

    # -- Alertmanager ----------------------------------------------------------------

    async def alerts(self) -> list[dict[str, Any]]:
        """Alerts firing now (active, neither silenced nor inhibited)."""
        url = self.settings.console.alertmanager_url
        if not url:
            return []
        found = await _json(
            self.client, "alertmanager", f"{url}/api/v2/alerts",
            active="true", silenced="false", inhibited="false",
        )  # fmt: skip
        return [
            {
                "name": a["labels"].get("alertname", "?"),
                "severity": a["labels"].get("severity", ""),
                "summary": a.get("annotations", {}).get("summary", ""),
                "runbook_url": a.get("annotations", {}).get("runbook_url", ""),
                "since": a.get("startsAt", ""),
            }
            for a in found
        ]

    # -- Prometheus ------------------------------------------------------------------

    @property
    def _prom(self) -> str:
        return self.settings.console.prometheus_url

    async def _metric_kind(self, name: str) -> str | None:
        if name.endswith("_total"):
            # The lab's counters all end in _total (and OpenMetrics files their metadata
            # under the name without it).
            return "counter"
        if name not in self._kinds:
            body = await _json(
                self.client, "prometheus", f"{self._prom}/api/v1/metadata", metric=name
            )
            entries = body.get("data", {}).get(name) or []
            # Unknown until a target exposing it was scraped: ask again next time.
            if not entries:
                return None
            self._kinds[name] = entries[0].get("type")
        return self._kinds[name]

    def _window(self) -> tuple[float, float, float]:
        """(start, end, step) of the charts: the console's window up to now."""
        end = time.time()
        window = self.settings.console.window_seconds
        return end - window, end, max(2.0, window / 150)

    async def _range(self, query: str, start: float, end: float, step: float) -> list[Any]:
        body = await _json(
            self.client, "prometheus", f"{self._prom}/api/v1/query_range",
            query=query, start=f"{start:.3f}", end=f"{end:.3f}", step=f"{step:g}",
        )  # fmt: skip
        return list(body["data"]["result"])

    async def figures(
        self, service: ServiceRef, techniques: list[dict[str, Any]], flips: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Every technique's key signal over the window, split by variant, flips marked."""
        start, end, step = self._window()
        flag_series = await self._range(signals.flags_query(service.job), start, end, step)
        by_flag = {s["metric"].get("flag"): s["values"] for s in flag_series}

        async def one(technique: dict[str, Any]) -> tuple[str, dict[str, Any]]:
            name = str(technique["name"])
            parsed = signals.lab_metric(technique)
            kind = await self._metric_kind(parsed[0]) if parsed else None
            if parsed and kind is None:
                # Its type is unknown until a sample was scraped: guessing would chart
                # the wrong figure, so say so (asked again on the next refresh).
                return name, {"error": f"no samples of {parsed[0]} yet: send it some traffic"}
            signal = signals.signal_for(technique, service.job, kind)
            if signal is None:
                return name, {"error": f"no metric to chart in {technique.get('metric')!r}"}
            series = await self._range(signal.query, start, end, step)
            values = series[0]["values"] if series else []
            mine = [
                {"at": f["at"], "new": f["new"], "actor": f["actor"]}
                for f in flips
                if f.get("flag") == technique.get("flag", name)
            ]
            # A rate mixes both variants for one window after a flip; a gauge does not.
            settle = signals.RATE_WINDOW_SECONDS if "rate(" in signal.query else 0.0
            flag = by_flag.get(technique.get("flag", name), [])
            figures = signals.split(values, flag, mine, end, step, settle)
            return name, figures.as_json(signal)

        done = await asyncio.gather(*(one(t) for t in techniques))
        window = self.settings.console.window_seconds
        return {"window_seconds": window, "step": step, "end": end, "techniques": dict(done)}

    async def overview(
        self,
        figures: tuple[overview.ServiceFigure, ...],
        job: str | None,
        flips: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """Overview figures (console/overview.py) of one job (None: the whole lab's) over
        the window, with every flip in it marked."""
        start, end, step = self._window()

        async def one(figure: overview.ServiceFigure) -> tuple[str, dict[str, Any]]:
            query = overview.query_for(figure, job)
            series = await self._range(query, start, end, step)
            values = series[0]["values"] if series else []
            times = [float(t) for t, _ in values]
            points = [signals.finite(v) for _, v in values]
            # The figure now is a sample at the window's end, not one from minutes ago.
            recent = [v for t, v in zip(times, points, strict=True) if t >= end - 2 * step]
            return figure.name, {
                "label": figure.label,
                "unit": figure.unit,
                "query": query,
                "idle": figure.idle,
                "times": times,
                "values": points,
                "current": recent[-1] if recent else None,
            }

        done = await asyncio.gather(*(one(f) for f in figures))
        marks = [
            {"at": f["at"], "flag": f["flag"], "new": f["new"]}
            for f in flips
            if datetime.fromisoformat(f["at"]).timestamp() >= start
        ]
        window = self.settings.console.window_seconds
        return {"window_seconds": window, "end": end, "flips": marks, "figures": dict(done)}
