"""`lab profile` against a real API (uvicorn, 2 workers) under load, as a user runs it.

The CLI finds the workers by the API's port (no pid file in its state folder), samples
them with py-spy, and writes the flame graph, the speedscope JSON and the tables; with
`--flag n_plus_one` it drives its own Locust load, profiles both variants and puts the
flag back; with `--memory` it asks the API for a tracemalloc window. About 60 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from perflab.console.reports import render
from tests.support.servers import REPO, service_env, uvicorn_server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def api(lab_root: Path, settings_env: dict[str, str]) -> Iterator[str]:
    env = service_env(settings_env, {"PERFLAB_PROFILING__ENABLED": "true"})
    with uvicorn_server(lab_root, env, workers=2, name="api-profile") as url:
        yield url


def _lab(api: str, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFLAB_")}
    env |= {
        "PERFLAB_PORTS__API": api.rsplit(":", 1)[1],
        "PERFLAB_LAB__STATE_DIR": str(state),  # empty: the workers are found by the port
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "perflab.lab.cli", "profile", "api", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


@contextmanager
def _load(api: str, clients: int = 4) -> Iterator[None]:
    """Closed-loop GET /books from a few threads, until the block ends."""
    stop = threading.Event()

    def loop() -> None:
        with httpx.Client(base_url=api, timeout=30) as client:
            while not stop.is_set():
                client.get("/books", params={"limit": 100})

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)


def _frames(svg: Path) -> list[str]:
    root = ET.fromstring(svg.read_text())
    titles = root.iter("{http://www.w3.org/2000/svg}title")
    return [(t.text or "").split("\n")[0] for t in titles]


def test_profile_under_load_writes_graph_speedscope_and_names_the_labs_code(
    api: str, lab_root: Path
) -> None:
    out = lab_root / "profile-single"
    with _load(api):
        done = _lab(api, lab_root / "profile-state", "--duration", "5", "--output", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "top functions by own time" in done.stdout
    assert "perflab/" in done.stdout  # a row of the lab's own code in the tables
    speedscope = json.loads((out / "profile.speedscope.json").read_text())
    assert speedscope["profiles"] and speedscope["shared"]["frames"]
    frames = _frames(out / "flamegraph.svg")
    assert "all" in frames and any("(perflab/" in f for f in frames)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["samples"] > 0 and "2 serving processes" in summary["sampled"]
    lab_rows = summary["lab_code_by_total"]
    assert lab_rows and all(r["where"].startswith("perflab/") for r in lab_rows)
    assert any(r["where"] == "perflab/api/techniques/n_plus_one.py" for r in lab_rows)
    # The console shows it as a profile, flame graph and tables in its page.
    page = render(lab_root, out.name)
    assert page is not None and page["kind"] == "profile"
    assert 'src="/results/profile-single/flamegraph.svg"' in page["html"]
    assert "n_plus_one.py" in page["html"]


def test_profile_a_flag_writes_both_variants_and_the_change_table(api: str, lab_root: Path) -> None:
    out = lab_root / "profile-flag"
    # 10 users: at their own pace 3 kept the two workers busy for ~0.1 s of the 4 s, and
    # py-spy (idle frames left out) took 8 samples, too few to find the naive function.
    args = ("--duration", "5", "--flag", "n_plus_one", "--users", "10", "--output", str(out))
    done = _lab(api, lab_root / "profile-state", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "changed most" in done.stdout
    naive = _frames(out / "naive" / "flamegraph.svg")
    optimised = _frames(out / "optimised" / "flamegraph.svg")
    technique = "(perflab/api/techniques/n_plus_one.py)"
    assert f"naive {technique}" in naive and f"naive {technique}" not in optimised
    # The optimised function itself is brief (two awaited statements) and can go
    # unsampled in 4 s on a busy machine; the requests it served are in the graph.
    assert any("(perflab/api/" in f for f in optimised)
    for variant in ("naive", "optimised"):
        assert (out / variant / "profile.speedscope.json").stat().st_size > 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["changes"] and summary["variants"]["naive"]["samples"] > 0
    # The lab's-own-code table: in the all-functions one, the framework frames above the
    # hot path move together and can fill the top rows, the naive function behind them.
    lab_changes = {(c["function"], c["where"]): c for c in summary["lab_changes"]}
    moved = lab_changes.get(("naive", "perflab/api/techniques/n_plus_one.py"))
    assert moved is not None and moved["naive_share"] > 0 and moved["optimised_share"] == 0
    assert "the lab's own code" in done.stdout
    assert summary["lab_changes"][0]["where"].startswith("perflab/")
    page = render(lab_root, out.name)
    assert page is not None and page["kind"] == "profile"
    for variant in ("naive", "optimised"):
        assert f'src="/results/profile-flag/{variant}/flamegraph.svg"' in page["html"]
    flags = httpx.get(f"{api}/flags").json()["flags"]
    assert next(f["enabled"] for f in flags if f["name"] == "n_plus_one") is True  # put back


def test_memory_window_writes_a_memory_flame_graph(api: str, lab_root: Path) -> None:
    out = lab_root / "profile-memory"
    with _load(api, clients=2):
        done = _lab(
            api, lab_root / "profile-state", "--memory", "--duration", "2", "--output", str(out)
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "where the memory still held was allocated" in done.stdout
    body = json.loads((out / "memory.json").read_text())
    assert body["data"]["peak_bytes"] > 0 and body["data"]["top"]
    assert len(_frames(out / "memory-flamegraph.svg")) > 1
    page = render(lab_root, out.name)
    assert page is not None and page["kind"] == "profile"
    assert 'src="/results/profile-memory/memory-flamegraph.svg"' in page["html"]


def test_a_target_that_is_not_running_is_a_clear_error(lab_root: Path) -> None:
    done = _lab("http://127.0.0.1:9", lab_root / "profile-state", "--duration", "1")
    assert done.returncode == 1
    assert "not running" in done.stdout and "lab up" in done.stdout
