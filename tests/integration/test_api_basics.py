"""The minimal API against real Postgres and Redis: health, readiness, metrics."""

from __future__ import annotations

import httpx
import pytest

from perflab.procs import free_port
from perflab.settings import Settings

pytestmark = pytest.mark.integration


async def test_healthz_and_readyz_report_both_dependencies(app_client: httpx.AsyncClient):
    assert (await app_client.get("/healthz")).json() == {"status": "ok"}
    ready = await app_client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert body["checks"]["postgres"]["ok"] and body["checks"]["redis"]["ok"]


async def test_readyz_names_postgres_when_it_is_down(settings: Settings):
    from perflab.api.app import create_app

    dead = settings.model_copy(
        update={
            "db": settings.db.model_copy(
                update={"dsn": f"postgresql://x@127.0.0.1:{free_port()}/x"}
            )
        }
    )
    app = create_app(dead)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lab") as client:
            ready = await client.get("/readyz")
            books = await client.get("/books")
    assert ready.status_code == 503
    assert ready.json()["checks"]["postgres"]["ok"] is False
    assert ready.json()["checks"]["redis"]["ok"] is True
    assert "postgres" in ready.json()["error"]
    assert books.status_code == 503
    assert books.json()["dependency"] == "postgres"


async def test_metrics_exposes_request_counter_by_route_template(app_client: httpx.AsyncClient):
    await app_client.get("/books", params={"limit": 3})
    text = (await app_client.get("/metrics")).text
    assert 'perflab_http_requests_total{method="GET",route="/books",status_class="2xx"}' in text
    assert 'perflab_flag_enabled{flag="n_plus_one"}' in text


def test_celery_worker_runs_a_task(celery_worker_server, settings_env):
    import subprocess
    import sys

    from tests.support.servers import service_env

    code = "from perflab.worker.tasks import ping; print(ping.delay().get(timeout=10))"
    done = subprocess.run(
        [sys.executable, "-c", code], env=service_env(settings_env), capture_output=True,
        text=True, timeout=30, check=True,
    )  # fmt: skip
    assert done.stdout.strip() == "pong"
