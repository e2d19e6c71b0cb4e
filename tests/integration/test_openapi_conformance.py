"""The running API against its own OpenAPI document, by schemathesis (property-based).

Every operation gets generated requests, valid (positive) and invalid (negative);
every answer must be no 5xx, carry a status code the document lists for that
operation, and match the documented schema. Driven through schemathesis' public
strategy API (`APIOperation.as_strategy`) with Hypothesis: its lazy pytest loader
does not run under pytest 9. Bounded: a few examples per operation and mode (~1-2
minutes on a busy machine). Failures of all operations are collected, then reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.servers import service_env, uvicorn_server

pytestmark = pytest.mark.integration

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# Its very purpose is to make the upstream fail: the 503s that follow would be right,
# and not_a_server_error would count them (tests/integration/techniques/test_resilience.py
# covers it; the admin-token tests cover its guard).
NOT_FUZZED = {"PUT /upstream/fault"}
EXAMPLES = 8


@pytest.fixture(scope="module")
def api_base(lab_root: Path, settings_env: dict[str, str]) -> Iterator[str]:
    with uvicorn_server(lab_root, service_env(settings_env), name="api-openapi") as url:
        yield url
        # Generated writes set the flaky upstream's fault knob (shared through Redis).
        httpx.put(f"{url}/upstream/fault", json={}, timeout=10).raise_for_status()


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE,
                                  schemathesis.GenerationMode.NEGATIVE])  # fmt: skip
def test_every_answer_is_documented_and_no_5xx(
    api_base: str, mode: schemathesis.GenerationMode
) -> None:
    schema = schemathesis.openapi.from_url(f"{api_base}/openapi.json")
    failures: dict[str, str] = {}
    tested = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in NOT_FUZZED:
            continue
        tested += 1

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=api_base, checks=CHECKS, timeout=30)

        try:
            check()
        except Unsatisfiable:
            # Negative mode: an operation with no parameter and no body has no invalid input.
            assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
        except Exception as exc:  # noqa: BLE001 - collected, then reported together
            failures[operation.label] = str(exc)[:1500]
    assert tested >= 20, f"only {tested} operations in the document"
    assert not failures, "\n\n".join(f"{op}:\n{why}" for op, why in failures.items())
