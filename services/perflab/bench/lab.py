"""`lab bench`: the lab's own performance, side by side in one run.

Measures, with wrk on one core and one uvicorn worker pinned to the other:
- two ceilings with no lab code (`perflab.bench.bare`): a bare ASGI app (what uvicorn
  can do) and a bare FastAPI JSON endpoint (what the framework can do); every lab path
  is reported as a share of the FastAPI one,
- the lab's cached read (`GET /genres/top-rated`, response_cache on: one Redis GET),
- a DB-bound read (`GET /books/{id}`, connection_pool on: one pooled query),
each read with telemetry off and on (metrics + tracing at the default sampling
ratio, exported to a local OTLP sink). Only the flags those reads need are on (and
telemetry_sampling, so the ratio is the default one): every other flag is turned off
through the API first, so no other technique's work (gzip's middleware
above all) is measured. Rounds interleave every configuration so drift hits all alike;
figures are medians over the rounds, and every ratio comes from the same run.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict
from typing import Any

import httpx

from perflab import machine
from perflab.bench.overhead import DEFAULT_RATIO, median_runs
from perflab.bench.stack import Bench
from perflab.procs import free_port, start_process, wait_until

TELEMETRY = {
    "off": {"METRICS_ENABLED": "false", "TRACING_ENABLED": "false"},
    "on": {
        "METRICS_ENABLED": "true",
        "TRACING_ENABLED": "true",
        "TRACE_SAMPLE_RATIO": str(DEFAULT_RATIO),
    },
}


BARE_ASGI = "bare ASGI (ceiling)"
BARE_FASTAPI = "bare FastAPI endpoint"
# The flags the measured reads need; every other flag is off. telemetry_sampling on:
# "telemetry on" traces at the default ratio (off, it would trace every request).
FLAGS_ON = frozenset({"response_cache", "connection_pool", "telemetry_sampling"})
# The lab's reads against the framework's own ceiling (issue 17): the least share of the
# bare FastAPI endpoint's req/s each should reach, with telemetry off.
SHARE_TARGETS = {"cached read, telemetry off": 0.50, "DB read, telemetry off": 0.35}
# Case -> the ASGI app uvicorn serves (same uvicorn settings as the lab's API).
CEILINGS = {
    BARE_ASGI: "perflab.bench.bare:app",
    BARE_FASTAPI: "perflab.bench.bare:fastapi_app",
}


class LabBench(Bench):
    def start_bare(self, target: str) -> tuple[str, int]:
        port = free_port()
        cmd = [
            sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1",
            "--port", str(port), "--workers", "1", "--no-access-log",
        ]  # fmt: skip
        log = self.root / f"bare-{target.rsplit(':', 1)[1]}.log"
        pid = self._started(start_process(cmd, log_path=log), self.api_cores)
        base = f"http://127.0.0.1:{port}"
        if not wait_until(lambda: httpx.get(base).status_code == 200, timeout=30):
            raise RuntimeError(f"{target} did not start:\n{log.read_text()[-2000:]}")
        return base, pid


def set_flags(base: str, on: frozenset[str]) -> None:
    """Exactly the flags in `on` enabled (through the API, as a user would)."""
    flags = httpx.get(f"{base}/flags").json()["flags"]
    for flag in flags:
        answer = httpx.put(f"{base}/flags/{flag['name']}", json={"enabled": flag["name"] in on})
        answer.raise_for_status()
    time.sleep(1.5)  # a flip reaches every process within 1 s


def run(duration: float = 10.0, rounds: int = 2, connections: int = 16) -> dict[str, Any]:
    watch = machine.Watch()  # the machine's speed, to compare this run with another
    with LabBench.running(connections, "perflab-labbench-") as bench:
        books = bench.script("books", "/books/{id}")
        cached = bench.script("cached", "/genres/top-rated")
        bare_script = bench.script("bare", "/")
        servers = {case: bench.start_bare(target) for case, target in CEILINGS.items()}
        for name, telemetry in TELEMETRY.items():
            servers[name] = bench.start_lab_api(name, telemetry)
        set_flags(servers["off"][0], FLAGS_ON)  # one Redis: every lab API sees it
        cases = {case: (case, bare_script) for case in CEILINGS}
        for name in TELEMETRY:
            cases[f"cached read, telemetry {name}"] = (name, cached)
            cases[f"DB read, telemetry {name}"] = (name, books)
        for server, script in cases.values():  # warm-up: pools, cache, first requests
            bench.wrk(servers[server], script, 2)
        runs: dict[str, list[dict[str, float]]] = {case: [] for case in cases}
        for _ in range(rounds):
            for case, (server, script) in cases.items():
                runs[case].append(bench.wrk(servers[server], script, duration))
                time.sleep(0.5)
    medians = median_runs(runs)
    report = {
        "duration_s": duration,
        "rounds": rounds,
        "connections": connections,
        "pinned": bench.split is not None,
        "flags_on": sorted(FLAGS_ON),
        "machine": asdict(watch.stop()),
        "cases": medians,
        "runs": runs,
    }
    return report | {"shares": shares(report)}


def shares(report: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Each case against the bare FastAPI endpoint: its req/s as a share of the
    endpoint's, and the endpoint's CPU per request as a share of the case's (the same
    figure when the API's core is the bottleneck, and steadier on a busy machine)."""
    framework = report["cases"][BARE_FASTAPI]
    return {
        case: {
            "rps": f["rps"] / framework["rps"],
            "cpu": framework["cpu_ms_per_request"] / f["cpu_ms_per_request"],
        }
        for case, f in report["cases"].items()
    }


def ratios(report: dict[str, Any]) -> list[tuple[str, float]]:
    c = report["cases"]
    out = []
    for kind in ("cached read", "DB read"):
        on, off = c[f"{kind}, telemetry on"], c[f"{kind}, telemetry off"]
        out.append((f"{kind}: throughput telemetry on / off", on["rps"] / off["rps"]))
        out.append((f"{kind}: p95 telemetry on / off", on["p95_ms"] / off["p95_ms"]))
    return out


def render(report: dict[str, Any]) -> str:
    share = shares(report)
    lines = [
        f"{report['connections']} connections, {report['duration_s']:.0f} s per run, "
        f"{report['rounds']} interleaved rounds, pinned={report['pinned']} (medians); "
        f"flags on: {', '.join(report['flags_on'])}",
        f"{'case':<34}{'req/s':>9}{'p50 ms':>8}{'p95 ms':>8}{'CPU ms/req':>11}"
        f"{'share of bare FastAPI: req/s':>30}{'CPU':>7}  target",
    ]
    for case, f in report["cases"].items():
        goal = SHARE_TARGETS.get(case)
        target = ""
        if goal is not None:
            target = f">= {goal:.0%} {'met' if share[case]['rps'] >= goal else 'MISSED'}"
        lines.append(
            f"{case:<34}{f['rps']:>9.0f}{f['p50_ms']:>8.2f}{f['p95_ms']:>8.2f}"
            f"{f['cpu_ms_per_request']:>11.3f}{share[case]['rps']:>30.1%}{share[case]['cpu']:>7.1%}"
            f"  {target}".rstrip()
        )
    lines.append("")
    lines += [f"{name:<44}{value:>8.3f}" for name, value in ratios(report)]
    lines += machine.report_lines(report)
    return "\n".join(lines) + "\n"
