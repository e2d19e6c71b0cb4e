"""An experiment's Locust gets the plan's pace and seed, never ones left in the shell:
a stray `export PERFLAB_THINK_SECONDS=1` would otherwise turn a closed loop into a paced
one, and a stray seed would change which requests both arms send."""

from pathlib import Path

from perflab.experiment.arm import LoadPlan, LoadRun

SHELL = {
    "PATH": "/usr/bin",
    "PERFLAB_THINK_SECONDS": "1.5",
    "PERFLAB_RATE_PER_USER": "7",
    "PERFLAB_LOAD_SEED": "99",
}


def environment(tmp_path: Path, **plan: object) -> dict[str, str]:
    run = LoadRun(LoadPlan(host="http://127.0.0.1:1", scenario="mixed", users=4, **plan), tmp_path)
    return run.environment(SHELL)


def test_the_plans_pace_and_seed_replace_the_shells(tmp_path: Path) -> None:
    env = environment(tmp_path, think_seconds=0.0, seed=1)
    assert env["PERFLAB_THINK_SECONDS"] == "0.0"
    assert env["PERFLAB_LOAD_SEED"] == "1"
    assert env["PATH"] == "/usr/bin"
    assert env["PERFLAB_SAMPLES_FILE"] == str(tmp_path / "samples" / "load.csv")


def test_a_plan_without_pace_or_seed_drops_the_shells(tmp_path: Path) -> None:
    # None means each user class's own wait time and fresh draws, not whatever was exported.
    env = environment(tmp_path, think_seconds=None, seed=None)
    assert "PERFLAB_THINK_SECONDS" not in env
    assert "PERFLAB_RATE_PER_USER" not in env
    assert "PERFLAB_LOAD_SEED" not in env
    assert SHELL["PERFLAB_THINK_SECONDS"] == "1.5"  # the caller's mapping is untouched
