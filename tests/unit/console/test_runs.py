"""Runs from the page are bounded, one at a time, and are the lab's own CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from perflab.console.config import ConsoleOptions, ServiceRef
from perflab.console.runs import Run, RunRefused, RunRequest, Runs


def test_bounds_are_enforced(tmp_path: Path) -> None:
    runs = Runs(tmp_path, ConsoleOptions(max_users=5, max_load_seconds=30))
    with pytest.raises(RunRefused, match="users: at most 5"):
        runs.check(RunRequest(kind="load", users=6))
    with pytest.raises(RunRefused, match="at most 30"):
        runs.check(RunRequest(kind="load", users=1, seconds=31))
    with pytest.raises(RunRefused, match="repeats: at most 3"):
        runs.check(RunRequest(kind="experiment", target="gzip", users=1, seconds=5, repeats=4))
    runs.check(RunRequest(kind="load", users=5, seconds=30))


def test_a_second_run_is_refused_while_one_goes(tmp_path: Path) -> None:
    runs = Runs(tmp_path, ConsoleOptions())
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    runs.current = Run("load-x", RunRequest(kind="load"), [], tmp_path, sleeper, 10.0)
    try:
        with pytest.raises(RunRefused, match="one at a time"):
            runs.check(RunRequest(kind="experiment", target="gzip", seconds=5))
    finally:
        sleeper.kill()
        sleeper.wait()
    runs.check(RunRequest(kind="load"))  # ended: the slot is free again


def test_the_commands_are_lab_load_and_lab_experiment(tmp_path: Path) -> None:
    runs = Runs(tmp_path, ConsoleOptions())
    api = ServiceRef(name="fastapi", url="http://a")
    load = runs.command(RunRequest(kind="load", target="n_plus_one", users=3, seconds=8),
                        api, "http://a", "http://p", tmp_path)  # fmt: skip
    assert load[1:5] == ["-m", "perflab.lab.cli", "load", "--scenario"]
    assert "8s" in load and "http://a" in load
    exp = runs.command(RunRequest(kind="experiment", target="gzip", seconds=4, repeats=2),
                       api, "http://a", "http://p", tmp_path)  # fmt: skip
    assert exp[3:5] == ["experiment", "gzip"]
    assert exp[exp.index("--duration") + 1] == "4s" and exp[exp.index("--repeats") + 1] == "2"


def test_an_experiment_on_django_measures_django_and_flips_at_the_api(tmp_path: Path) -> None:
    # Django's /flags is read-only: flipping there failed every console experiment on it.
    runs = Runs(tmp_path, ConsoleOptions())
    django = ServiceRef(name="django", url="http://d:8001")
    exp = runs.command(RunRequest(kind="experiment", service="django", target="n_plus_one"),
                       django, "http://a:8000", "http://p", tmp_path)  # fmt: skip
    option = {exp[i]: exp[i + 1] for i in range(len(exp) - 1) if exp[i].startswith("--")}
    assert option["--service"] == "django" and option["--target"] == "http://d:8001"
    assert option["--api"] == "http://a:8000"


def test_a_target_the_service_cannot_run_is_refused_before_it_starts(tmp_path: Path) -> None:
    runs = Runs(tmp_path, ConsoleOptions())
    for kind in ("load", "experiment"):
        with pytest.raises(RunRefused, match=r"prepared_statements is not implemented by flask"):
            runs.check(
                RunRequest(kind=kind, service="flask", target="prepared_statements", seconds=5)
            )
    with pytest.raises(RunRefused, match="unknown flag 'mixed'"):
        runs.check(RunRequest(kind="experiment", target="mixed", seconds=5))
    runs.check(RunRequest(kind="load", service="flask", target="mixed", seconds=5))
    with pytest.raises(ValueError):
        RunRequest(kind="load", target="gzip; rm -rf /")
