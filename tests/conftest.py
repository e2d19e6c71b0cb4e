"""Session fixtures: real Postgres and Redis on free loopback ports, always stopped."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from perflab.api.app import create_app
from perflab.flags.catalog import FLAGS
from perflab.lab import postgres as pg
from perflab.lab import secrets
from perflab.settings import Settings
from tests.support.servers import (
    Server,
    celery_worker,
    secrets_of,
    service_env,
    start_postgres,
    start_redis,
)

# Hermetic: a developer's own PERFLAB_* settings (ports, state dir) must not leak into
# the tests; every test sets what it needs explicitly.
for _name in [n for n in os.environ if n.startswith("PERFLAB_")]:
    del os.environ[_name]


@pytest.fixture(scope="session")
def lab_root() -> Iterator[Path]:
    # Not pytest's tmp_path: its parents are 0700 and Postgres runs as another user.
    root = Path(tempfile.mkdtemp(prefix="perflab-test-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(lab_root: Path) -> Iterator[Server]:
    server = start_postgres(lab_root)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(lab_root: Path) -> Iterator[Server]:
    server = start_redis(lab_root)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def settings_env(lab_root: Path, postgres_server: Server, redis_server: Server) -> dict[str, str]:
    """The environment a real API or worker process of the test stack gets."""
    keys = secrets_of(lab_root)
    return {
        "PERFLAB_DB__DSN": pg.dsn(postgres_server.port),
        "PERFLAB_DB__PASSWORD_FILE": str(keys.path(secrets.POSTGRES_APP)),
        "PERFLAB_REDIS__URL": f"redis://127.0.0.1:{redis_server.port}/0",
        "PERFLAB_REDIS__PASSWORD_FILE": str(keys.path(secrets.REDIS)),
        "PERFLAB_FLAGS__RESYNC_INTERVAL_SECONDS": "1",
    }


@pytest.fixture(scope="session")
def celery_worker_server(lab_root: Path, settings_env: dict[str, str]) -> Iterator[Server]:
    """A real Celery worker (2 prefork processes) consuming from the test Redis."""
    with celery_worker(lab_root, service_env(settings_env)) as server:
        yield server


@pytest.fixture(scope="session")
def settings(settings_env: dict[str, str]) -> Settings:
    return Settings(
        db={
            "dsn": settings_env["PERFLAB_DB__DSN"],
            "password_file": settings_env["PERFLAB_DB__PASSWORD_FILE"],
        },
        redis={
            "url": settings_env["PERFLAB_REDIS__URL"],
            "password_file": settings_env["PERFLAB_REDIS__PASSWORD_FILE"],
        },
        flags={"resync_interval_seconds": 1},
    )


@pytest.fixture(scope="session")
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API in this process (real Postgres and Redis), for technique tests."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lab") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture
async def redis_client(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis.url)
    yield client
    await client.aclose()


@pytest.fixture
async def set_flag(app_client: httpx.AsyncClient) -> AsyncIterator:
    """Set flags through the real API; every flag touched is put back afterwards."""
    touched: dict[str, bool] = {}

    async def _set(name: str, enabled: bool) -> None:
        if name not in touched:
            flags = (await app_client.get("/flags")).json()["flags"]
            touched[name] = next(f["enabled"] for f in flags if f["name"] == name)
        answer = await app_client.put(f"/flags/{name}", json={"enabled": enabled})
        assert answer.status_code == 200, answer.text

    yield _set
    for name, enabled in touched.items():
        await app_client.put(f"/flags/{name}", json={"enabled": enabled})


__all__ = ["FLAGS"]
