"""A flaky upstream called with no deadline and no retry vs deadlines, retries and a breaker.

Demonstrates: `GET /upstream/stock?book_id=N` asks the lab's simulated stock service
(`perflab/upstream.py`), whose faults are set at runtime with the API's
`PUT /upstream/fault` (error rate, latency spikes; every service follows within a
second). The naive path calls it as it comes, from the request thread: a spike holds
the thread for the whole spike, an error is a 503, and a dead upstream gets every
request's call. The optimised path is the API's policy on threads: a deadline per
attempt (0.25 s: the client stops waiting, as a socket timeout would), 3 attempts with
exponential backoff and jitter (tenacity's `Retrying`), and a circuit breaker
(purgatory's `SyncCircuitBreakerFactory`, per app, so per worker process) that opens
after 5 consecutive failures and fails fast for 5 s. Same stock either way while
healthy.
Watch: `perflab_upstream_calls_total{variant, outcome}` (service=flask),
`perflab_upstream_retries_total`, `perflab_upstream_breaker_state` and the route's p95.
Expect, upstream down: naive calls per second = requests per second; optimised one
trial per 5 s per worker, the 503s in ~1 ms.
"""

from __future__ import annotations

import threading

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field

from perflab.catalog import TECHNIQUES
from perflab.flask_service import validation
from perflab.flask_service.resources import resources
from perflab.flask_service.techniques.base import Technique, run
from perflab.upstream import Stock, ThreadedResilience

NAME = "resilience"
_EXTENSION = "perflab_resilience"
_made = threading.Lock()


def policy() -> ThreadedResilience:
    """This app's policy and breaker, made on first use with the app's settings."""
    found = current_app.extensions.get(_EXTENSION)
    if found is None:
        with _made:
            found = current_app.extensions.get(_EXTENSION)
            if found is None:
                res = resources()
                found = ThreadedResilience(lambda: res.redis, res.settings.techniques)
                current_app.extensions[_EXTENSION] = found
    assert isinstance(found, ThreadedResilience)
    return found


def naive(book_id: int) -> Stock:
    return policy().naive(book_id)


def optimised(book_id: int) -> Stock:
    return policy().optimised(book_id)


class StockQuery(BaseModel):
    book_id: int = Field(ge=1, le=2**31 - 1)


blueprint = Blueprint(NAME, __name__)


@blueprint.get("/upstream/stock")
def upstream_stock() -> ResponseReturnValue:
    book_id = validation.query(StockQuery).book_id
    return jsonify(run(NAME, naive, optimised, book_id).model_dump())


TECHNIQUE = Technique(spec=TECHNIQUES[NAME], blueprint=blueprint)
