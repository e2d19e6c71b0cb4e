"""The locustfile as Locust itself loads it: every scenario's classes exist."""

from __future__ import annotations

import subprocess
import sys

from loadgen.recipes import TECHNIQUES
from loadgen.scenarios import SCENARIOS, class_name, locust_args

from perflab.lab.load import LOCUSTFILE
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
