"""`GET /metrics`: Prometheus exposition, aggregated over every worker process.

The merge, the clean-up of dead workers' live gauges and the exemplar side channel
live in `perflab.telemetry.multiproc` (the Celery worker's /metrics uses it too).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from perflab.errors import NotFound
from perflab.telemetry import multiproc

router = APIRouter(tags=["telemetry"])


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    if not request.app.state.settings.telemetry.metrics_enabled:
        raise NotFound("metrics are off (PERFLAB_TELEMETRY__METRICS_ENABLED=false)")
    # OpenMetrics when Prometheus asks for it: that is the format carrying exemplars.
    # A plain `def`: reading every process's files is blocking, so it runs in the
    # threadpool and never stalls the event loop.
    body, content_type = multiproc.render(request.headers.get("accept"))
    return Response(body, media_type=content_type)
