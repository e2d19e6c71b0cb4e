"""The locustfile as Locust itself loads it: every scenario's classes exist,
`--think` (`PERFLAB_THINK_SECONDS`) paces every user, and `--seed`
(`PERFLAB_LOAD_SEED`) makes every run ask for the same requests."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from loadgen.recipes import TECHNIQUES
from loadgen.scenarios import SCENARIOS, class_name, locust_args

from perflab.lab.load import LOCUSTFILE
from tests.support.http_stub import JsonStub, serving
from tests.support.servers import REPO


def _listed() -> set[str]:
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--list"],
        capture_output=True, text=True, timeout=60, cwd=REPO, check=True,
    )  # fmt: skip
    return {line.strip() for line in done.stdout.splitlines() if line.startswith("    ")}


def test_every_scenario_and_technique_has_its_user_class():
    listed = _listed()
    for classes in SCENARIOS.values():
        assert set(classes) <= listed
    assert {class_name(t) for t in TECHNIQUES} <= listed
    assert class_name("n_plus_one") == "NPlusOneUser"


def test_a_scenario_names_the_classes_to_run():
    assert locust_args("all") == ["MixedBrowse", "ExportUser", "WriterUser"]
    assert locust_args("db_index") == ["DbIndexUser"]
    assert locust_args("added_later") == ["EveryTechniqueUser", "--technique", "added_later"]


class _Healthz(JsonStub):
    hits = 0

    def answer(self, _path: str) -> bytes:
        type(self).hits += 1
        return b'{"status":"ok"}'


def _requests_in(seconds: int, think: str | None, rate: str | None = None) -> int:
    """Requests one CapacityUser (no pause of its own) makes in `seconds`, by a real Locust."""
    _Healthz.hits = 0
    paces = ("PERFLAB_THINK_SECONDS", "PERFLAB_RATE_PER_USER")
    env = {k: v for k, v in os.environ.items() if k not in paces}
    env["PERFLAB_LOADGEN_METRICS_PORT"] = "0"
    if think is not None:
        env["PERFLAB_THINK_SECONDS"] = think
    if rate is not None:
        env["PERFLAB_RATE_PER_USER"] = rate
    with serving(_Healthz) as host:
        subprocess.run(
            [
                sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
                "--users", "1", "--spawn-rate", "1", "--run-time", f"{seconds}s", "--only-summary",
                "--host", host, "CapacityUser",
            ],
            capture_output=True, timeout=60, cwd=REPO, env=env, check=True,
        )  # fmt: skip
    return _Healthz.hits


def test_think_time_sets_every_users_pace():
    # The same user class, paced 0.5 s by the option, else flat out.
    paced = _requests_in(2, "0.5")
    flat_out = _requests_in(2, None)
    assert 1 <= paced <= 5
    assert flat_out > 10 * paced


def test_a_rate_caps_every_user_at_that_many_requests_per_second():
    # 10/s for 3 s is about 30 whatever the think time says (the rate wins; a 1 s think
    # time alone gives at most 4), far under what the same user does flat out. Locust's
    # start-up eats into the run on a busy machine (8 of 20 seen in 2 s): hence 3 s.
    rated = _requests_in(3, "1", rate="10")
    assert 10 <= rated <= 36
    assert _requests_in(3, None) > 5 * rated


class _Listing(JsonStub):
    """Lists one technique with a random id in its path, and records each path asked for."""

    paths: list[str] = []

    def answer(self, path: str) -> bytes:
        if path == "/techniques":
            return json.dumps({"techniques": [
                {"name": "db_index", "method": "GET", "path": "/users/{user_id}/orders"},
            ]}).encode()  # fmt: skip
        type(self).paths.append(path)
        return b"[]"


def _first_paths(host: str, seed: str | None) -> list[str]:
    """The first paths one DbIndexUser asks for in a real Locust run."""
    _Listing.paths = []
    env = {k: v for k, v in os.environ.items() if k != "PERFLAB_LOAD_SEED"}
    env |= {"PERFLAB_LOADGEN_METRICS_PORT": "0", "PERFLAB_THINK_SECONDS": "0.05"}
    if seed is not None:
        env["PERFLAB_LOAD_SEED"] = seed
    done = subprocess.run(
        [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
            "--users", "1", "--spawn-rate", "1", "--run-time", "4s", "--only-summary",
            "--host", host, "DbIndexUser",
        ],
        # Exit 1: the empty answers fail the recipe's checks, which is not the point here.
        # Locust's --run-time clock starts before its users: 1 s left a fresh clone ~60 ms.
        capture_output=True, text=True, timeout=60, cwd=REPO, env=env, check=False,
    )  # fmt: skip
    assert len(_Listing.paths) >= 5, (_Listing.paths, done.stderr[-2000:])
    return _Listing.paths[:5]


def test_a_seed_makes_every_run_ask_for_the_same_requests():
    with serving(_Listing) as host:
        first, again = _first_paths(host, "7"), _first_paths(host, "7")
        unseeded = _first_paths(host, None)
    assert all(p.startswith("/users/") and p.endswith("/orders") for p in first)
    assert first == again
    assert len(set(first)) > 1  # still random draws, only repeatable
    assert unseeded != first
