"""The console's JSON routes, read by `static/console.js` every few seconds.

Flips and runs go through here (not straight from the browser to the services), so the
page needs no CORS and one origin: the console forwards the browser's
`Authorization` header to the flags service's `PUT /flags/{name}` (flags are shared by
every service) and checks it itself for runs.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from perflab.console import overview
from perflab.console.config import ConsoleSettings, ServiceRef
from perflab.console.runs import RunRefused, RunRequest, Runs
from perflab.console.sources import Sources, Unavailable

router = APIRouter(prefix="/api")


class FlagChange(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    enabled: bool


def _sources(request: Request) -> Sources:
    return request.app.state.sources


def _settings(request: Request) -> ConsoleSettings:
    return request.app.state.settings


def _service(request: Request, name: str) -> ServiceRef:
    service = _settings(request).service(name)
    if service is None:
        known = ", ".join(s.name for s in _settings(request).console.services)
        raise HTTPException(404, f"unknown service {name!r}; known: {known}")
    return service


def _unavailable(exc: Unavailable) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=503)


@router.get("/flags")
async def flags(request: Request) -> Any:
    """The flags (shared by every service), from the flags service's API."""
    try:
        return {"flags": await _sources(request).flags()}
    except Unavailable as exc:
        return _unavailable(exc)


@router.put("/flags/{name}")
async def set_flag(
    name: str,
    change: FlagChange,
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    try:
        answer = await _sources(request).set_flag(name, change.enabled, authorization)
    except Unavailable as exc:
        return _unavailable(exc)
    # The service's own verdict (200, 401, 404, 422) goes back as it is.
    return JSONResponse(answer.json(), status_code=answer.status_code)


@router.get("/history")
async def history(request: Request) -> Any:
    try:
        return {"flips": await _sources(request).history(limit=50)}
    except Unavailable as exc:
        return _unavailable(exc)


@router.get("/alerts")
async def alerts(request: Request) -> Any:
    try:
        return {"alerts": await _sources(request).alerts()}
    except Unavailable as exc:
        return _unavailable(exc)


@router.get("/figures/{service}")
async def figures(service: str, request: Request) -> Any:
    target = _service(request, service)
    sources = _sources(request)
    try:
        techniques = await sources.techniques(target)
        return await sources.figures(target, techniques, await sources.flip_marks())
    except Unavailable as exc:
        return _unavailable(exc)


async def _overview(
    request: Request, figures: tuple[overview.ServiceFigure, ...], job: str | None
) -> Any:
    sources = _sources(request)
    try:
        return await sources.overview(figures, job, await sources.flip_marks())
    except Unavailable as exc:
        return _unavailable(exc)


@router.get("/overview/{service}")
async def service_overview(service: str, request: Request) -> Any:
    """The service's requests/s, latency, errors, SQL, pool, cache, memory and CPU."""
    return await _overview(request, overview.OVERVIEW, _service(request, service).job)


@router.get("/worker")
async def worker_overview(request: Request) -> Any:
    """The Celery side: workers up, the queue, tasks done and failed, task p95."""
    return await _overview(request, overview.WORKER, None)


def _authorize(request: Request, authorization: str | None) -> None:
    token = _settings(request).admin_token
    if token is None:
        return
    expected = f"Bearer {token.get_secret_value()}"
    if authorization is None or not hmac.compare_digest(authorization, expected):
        raise HTTPException(401, "runs need 'Authorization: Bearer <admin token>'")


def _runs(request: Request) -> Runs:
    return request.app.state.runs


@router.get("/runs")
async def current_run(request: Request) -> dict[str, Any]:
    runs = _runs(request)
    run = runs.current.state(runs.results) if runs.current else None
    return {"run": run}


@router.post("/runs", status_code=202)
async def start_run(
    req: RunRequest, request: Request, authorization: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    _authorize(request, authorization)
    settings = _settings(request)
    service = _service(request, req.service)
    runs = _runs(request)
    try:
        run = runs.start(req, service, settings.flags_service.url, settings.console.prometheus_url)
    except RunRefused as exc:
        busy = "one at a time" in str(exc)
        raise HTTPException(409 if busy else 422, str(exc)) from exc
    return {"run": run.state(runs.results)}


@router.delete("/runs/current")
async def cancel_run(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    _authorize(request, authorization)
    runs = _runs(request)
    # Waits for Locust's reports / the experiment's flag restore: off the event loop.
    run = await anyio.to_thread.run_sync(runs.cancel)
    if run is None:
        raise HTTPException(404, "no run is going")
    return {"run": run.state(runs.results)}
