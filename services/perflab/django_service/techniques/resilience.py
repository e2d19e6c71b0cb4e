"""A flaky upstream called with no deadline and no retry vs deadlines, retries and a breaker.

Demonstrates: `GET /upstream/stock?book_id=N` asks the lab's simulated stock service
(`perflab/upstream.py`), whose faults are set at runtime with the API's
`PUT /upstream/fault` (error rate, latency spikes; every service follows within a
second). The naive path calls it as it comes, from the request thread: a spike holds
the thread (one of the worker's few) for the whole spike, an error is a 503, and a
dead upstream gets every request's call. The optimised path is the API's policy on
threads: a deadline per attempt (`PERFLAB_TECHNIQUES__UPSTREAM_TIMEOUT_SECONDS`,
0.25 s: the client stops waiting, as `requests`' `timeout=` would), 3 attempts with
exponential backoff and jitter (tenacity's `Retrying`), and a circuit breaker
(purgatory's `SyncCircuitBreakerFactory`, per worker process) that opens after 5
consecutive failures and fails fast for 5 s. Same stock either way while healthy.
Watch: `perflab_upstream_calls_total{variant, outcome}` (service=django),
`perflab_upstream_retries_total`, `perflab_upstream_breaker_state` and the route's p95.
Expect, upstream down: naive calls per second = requests per second; optimised one
trial per 5 s per worker, the 503s in ~1 ms. With spikes: p95 from the spike length
to about the deadline.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

from perflab.catalog import TECHNIQUES
from perflab.django_service import runtime
from perflab.django_service.techniques.base import MAX_INT, Technique, int_param, json_answer, run
from perflab.errors import BadRequest
from perflab.settings import get_settings
from perflab.upstream import Stock, ThreadedResilience

NAME = "resilience"
# Per process: each worker's breaker judges the upstream from its own calls.
policy = ThreadedResilience(runtime.redis_client, get_settings().techniques)


def naive(book_id: int) -> Stock:
    return policy.naive(book_id)


def optimised(book_id: int) -> Stock:
    return policy.optimised(book_id)


@require_GET
def upstream_stock(request: HttpRequest) -> JsonResponse:
    if "book_id" not in request.GET:
        raise BadRequest("query parameter 'book_id' is required")
    book_id = int_param(request, "book_id", 0, 1, MAX_INT)
    variant, stock = run(NAME, naive, optimised, book_id)
    return json_answer(stock.model_dump(), variant)


TECHNIQUE = Technique(TECHNIQUES[NAME], [path("upstream/stock", upstream_stock)])
