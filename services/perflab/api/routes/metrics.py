"""`GET /metrics`: Prometheus exposition, aggregated over every worker process."""

from __future__ import annotations

import os

from fastapi import APIRouter, Request, Response
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

router = APIRouter(tags=["telemetry"])


def _registry() -> CollectorRegistry:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    # OpenMetrics when Prometheus asks for it: that is the format carrying exemplars.
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encoder(_registry()), media_type=content_type)
