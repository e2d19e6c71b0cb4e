"""The lab's console: one page with every technique's switch and live figures.

Server-rendered pages (Jinja2) with a little vanilla JavaScript (`static/console.js`)
and uPlot (vendored from its npm package) for the charts: no CDN, no build step.

    uvicorn --factory perflab.console.app:app_factory --port 8090

Pages: `/` (cards, flips, alerts, runs), `/reports` and `/reports/<path>`; files under
`results/` at `/results/<path>`; the JSON the page polls under `/api` (console.api).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from perflab.console import api, reports
from perflab.console.config import ConsoleSettings, get_settings
from perflab.console.overview import OVERVIEW, WORKER
from perflab.console.runs import Runs, tools_missing
from perflab.console.sources import Sources, Unavailable

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")


def links(settings: ConsoleSettings) -> list[tuple[str, str]]:
    opts = settings.console
    found = [
        ("Grafana", opts.grafana_url),
        ("Prometheus", opts.prometheus_public_url or opts.prometheus_url),
        ("Alertmanager", opts.alertmanager_public_url or opts.alertmanager_url),
        ("Locust", opts.locust_url),
        ("Jaeger", opts.jaeger_url),
    ]
    docs = [s for s in opts.services if s.docs_path]
    found += [(f"{s.name} API docs", f"{s.browser_url}{s.docs_path}") for s in docs]
    return [(name, url) for name, url in found if url]


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient() as client:
            app.state.sources = Sources(settings, client)
            try:
                yield
            finally:
                app.state.runs.close()

    app = FastAPI(
        title="perflab console", lifespan=lifespan, docs_url=None, redoc_url=None,
        openapi_url=None,
    )  # fmt: skip
    app.state.settings = settings
    app.state.runs = Runs(settings.console.results_dir, settings.console)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(api.router)
    results = settings.console.results_dir

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse)
    async def index(request: Request) -> HTMLResponse:
        sources: Sources = request.app.state.sources
        services: list[dict[str, Any]] = []
        for service in settings.console.services:
            entry: dict[str, Any] = {"ref": service, "techniques": [], "error": None}
            try:
                entry["techniques"] = await sources.techniques(service)
            except Unavailable as exc:
                entry["error"] = str(exc)
            services.append(entry)
        techniques = sorted({t["name"] for s in services for t in s["techniques"]})
        context = {
            "services": services,
            "links": links(settings),
            "token_required": settings.admin_token is not None,
            "techniques": techniques,
            "run_blocked": {k: tools_missing(k) for k in ("load", "experiment")},
            "limits": settings.console,
            "reports": reports.list_reports(results)[:8],
            "overview": OVERVIEW,
            "worker": WORKER,
        }
        return templates.TemplateResponse(request, "index.html", context)

    @app.get("/reports", response_class=HTMLResponse)
    async def report_list(request: Request) -> HTMLResponse:
        context = {"reports": reports.list_reports(results), "links": links(settings),
                   "results": results}  # fmt: skip
        return templates.TemplateResponse(request, "reports.html", context)

    @app.get("/reports/{path:path}", response_class=HTMLResponse)
    async def report_page(path: str, request: Request) -> HTMLResponse:
        page = reports.render(results, path)
        if page is None:
            raise HTTPException(404, f"no report at results/{path}")
        context = {"report": page, "links": links(settings)}
        return templates.TemplateResponse(request, "report.html", context)

    @app.get("/results/{path:path}")
    async def result_file(path: str) -> FileResponse:
        found = reports.inside(results, path)
        if found is None or not found.is_file():
            raise HTTPException(404, f"no file at results/{path}")
        return FileResponse(found)

    return app


def app_factory() -> FastAPI:
    """Entry for `uvicorn --factory perflab.console.app:app_factory`."""
    return create_app()
