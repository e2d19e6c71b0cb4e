"""`lab bench`: the lab's own performance, side by side in one run.

Measures, with wrk on one core and one uvicorn worker pinned to the other:
- the framework ceiling: a bare ASGI app (`perflab.bench.bare`),
- the lab's cached read (`GET /genres/top-rated`, response_cache on: one Redis GET),
- a DB-bound read (`GET /books/{id}`, connection_pool on: one pooled query),
each read with telemetry off and on (metrics + tracing at the default sampling
ratio, exported to a local OTLP sink). Rounds interleave every configuration so drift
hits all alike; figures are medians over the rounds, and every ratio comes from the
same run.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import httpx

from perflab.bench.overhead import DEFAULT_RATIO, Bench, median_runs
from perflab.procs import free_port, start_process, wait_until

TELEMETRY = {
    "off": {"METRICS_ENABLED": "false", "TRACING_ENABLED": "false"},
    "on": {
        "METRICS_ENABLED": "true",
        "TRACING_ENABLED": "true",
        "TRACE_SAMPLE_RATIO": str(DEFAULT_RATIO),
    },
}


class LabBench(Bench):
    def start_bare(self) -> tuple[str, int]:
        port = free_port()
        cmd = [
            sys.executable, "-m", "uvicorn", "perflab.bench.bare:app", "--host", "127.0.0.1",
            "--port", str(port), "--workers", "1", "--no-access-log",
        ]  # fmt: skip
        proc = start_process(cmd, log_path=self.root / "bare.log")
        pid = self._started(proc, self.api_cores)
        base = f"http://127.0.0.1:{port}"
        if not wait_until(lambda: httpx.get(base).status_code == 200, timeout=30):
            raise RuntimeError("the bare ASGI app did not start")
        return base, pid


def run(duration: float = 10.0, rounds: int = 2, connections: int = 16) -> dict[str, Any]:
    with LabBench.running(connections, "perflab-labbench-") as bench:
        books = bench.script("books", "/books/{id}")
        cached = bench.script("cached", "/genres/top-rated")
        bare_script = bench.script("bare", "/")
        servers = {"bare": bench.start_bare()}
        for name, telemetry in TELEMETRY.items():
            servers[name] = bench.start_lab_api(name, telemetry)
        cases = {"bare ASGI (ceiling)": ("bare", bare_script)}
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
    return {
        "duration_s": duration,
        "rounds": rounds,
        "connections": connections,
        "pinned": bench.split is not None,
        "cases": medians,
        "runs": runs,
    }


def ratios(report: dict[str, Any]) -> list[tuple[str, float]]:
    c = report["cases"]
    ceiling = c["bare ASGI (ceiling)"]["rps"]
    out = []
    for kind in ("cached read", "DB read"):
        on, off = c[f"{kind}, telemetry on"], c[f"{kind}, telemetry off"]
        out.append((f"{kind}: throughput telemetry on / off", on["rps"] / off["rps"]))
        out.append((f"{kind}: p95 telemetry on / off", on["p95_ms"] / off["p95_ms"]))
        out.append(
            (f"{kind} (telemetry off): share of the bare ASGI ceiling", off["rps"] / ceiling)
        )
    return out


def render(report: dict[str, Any]) -> str:
    lines = [
        f"{report['connections']} connections, {report['duration_s']:.0f} s per run, "
        f"{report['rounds']} interleaved rounds, pinned={report['pinned']} (medians)",
        f"{'case':<34}{'req/s':>9}{'p50 ms':>8}{'p95 ms':>8}{'CPU ms/req':>11}",
    ]
    for case, f in report["cases"].items():
        lines.append(
            f"{case:<34}{f['rps']:>9.0f}{f['p50_ms']:>8.2f}{f['p95_ms']:>8.2f}"
            f"{f['cpu_ms_per_request']:>11.3f}"
        )
    lines.append("")
    lines += [f"{name:<62}{value:>6.3f}" for name, value in ratios(report)]
    return "\n".join(lines) + "\n"
