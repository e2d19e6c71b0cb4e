"""`lab bench` reports each lab path as a share of the bare FastAPI endpoint."""

from __future__ import annotations

import pytest

from perflab.bench import lab


def _case(rps: float, cpu: float) -> dict[str, float]:
    return {"rps": rps, "p50_ms": 1.0, "p95_ms": 2.0, "cpu_ms_per_request": cpu}


REPORT = {
    "duration_s": 5.0,
    "rounds": 2,
    "connections": 16,
    "pinned": True,
    "flags_on": sorted(lab.FLAGS_ON),
    "cases": {
        lab.BARE_ASGI: _case(40_000, 0.025),
        lab.BARE_FASTAPI: _case(10_000, 0.100),
        "cached read, telemetry off": _case(5_000, 0.200),
        "DB read, telemetry off": _case(3_500, 0.250),
        "cached read, telemetry on": _case(4_500, 0.220),
        "DB read, telemetry on": _case(3_000, 0.300),
    },
}


def test_every_case_is_a_share_of_the_bare_fastapi_endpoint():
    shares = lab.shares(REPORT)
    assert shares[lab.BARE_FASTAPI] == {"rps": 1.0, "cpu": 1.0}
    assert shares["cached read, telemetry off"]["rps"] == pytest.approx(0.50)
    assert shares["DB read, telemetry off"]["rps"] == pytest.approx(0.35)
    assert shares["DB read, telemetry off"]["cpu"] == pytest.approx(0.40)
    assert shares[lab.BARE_ASGI]["rps"] == pytest.approx(4.0)


def test_the_report_prints_the_shares_and_the_flags_it_ran_with():
    text = lab.render(REPORT)
    row = next(line for line in text.splitlines() if line.startswith("cached read, telemetry off"))
    assert "50.0%" in row
    assert "flags on: connection_pool, response_cache" in text


def test_the_reads_are_held_to_their_targets_in_the_same_table():
    lines = lab.render(REPORT).splitlines()
    row = {line.split("  ")[0]: line for line in lines}
    assert row["cached read, telemetry off"].endswith(">= 50% met")  # exactly 50 %
    assert row["DB read, telemetry off"].endswith(">= 35% met")
    slower = REPORT | {"cases": REPORT["cases"] | {"DB read, telemetry off": _case(3_400, 0.25)}}
    assert ">= 35% MISSED" in lab.render(slower)
    assert not row["cached read, telemetry on"].endswith(("met", "MISSED"))  # no target


def test_the_machine_speed_of_the_run_is_printed_when_measured():
    assert "machine speed" not in lab.render(REPORT)  # a report from before the probe
    timed = REPORT | {
        "machine": {"probe_before_ms": 5.05, "probe_after_ms": 7.9, "steal_share": 0.021}
    }
    assert lab.render(timed).splitlines()[-1] == (
        "machine speed: a fixed CPU probe took 5.05 ms at the start and 7.90 ms at the end "
        "(fastest of 5 rounds, once the machine was idle or after 5 s); "
        "steal 2.1% (CPU time the hypervisor gave other guests)"
    )
