"""Liveness and readiness: ready means Postgres and Redis both answer."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from perflab.api.deps import Res

router = APIRouter(tags=["health"])
PROBE_TIMEOUT_SECONDS = 2.0


class Probe(BaseModel):
    ok: bool
    latency_ms: float | None = None
    error: str | None = None


class Readiness(BaseModel):
    status: str  # ready | unavailable
    checks: dict[str, Probe]
    error: str | None = None  # which dependencies are down


class Liveness(BaseModel):
    status: str


@router.get("/healthz", response_model=Liveness)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _probe(check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), PROBE_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported
        return {"ok": False, "error": str(exc) or type(exc).__name__}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Postgres or Redis is down."}},
)
async def readyz(res: Res) -> JSONResponse:
    async def postgres() -> None:
        async with res.pool.acquire() as conn:
            await conn.fetchval("SELECT 1")

    async def redis() -> None:
        await res.redis.ping()

    pg, rd = await asyncio.gather(_probe(postgres), _probe(redis))
    checks = {"postgres": pg, "redis": rd}
    down = [name for name, result in checks.items() if not result["ok"]]
    body = {"status": "ready" if not down else "unavailable", "checks": checks}
    if down:
        body["error"] = f"{', '.join(down)} unavailable"
    return JSONResponse(body, status_code=503 if down else 200)
