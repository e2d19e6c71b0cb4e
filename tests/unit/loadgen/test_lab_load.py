"""`lab load`'s pieces that need no server: durations, the Locust command, file_sd."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perflab.lab.load import (
    LOCUSTFILE,
    LoadError,
    LoadOptions,
    check_options,
    locust_command,
    seconds,
)
from perflab.lab.prom_targets import prometheus_target


@pytest.mark.parametrize(
    ("text", "expected"), [("90", 90), ("30s", 30), ("5m", 300), ("1h30m", 5400), ("2m5s", 125)]
)
def test_durations_use_locusts_syntax(text: str, expected: int):
    assert seconds(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "5 minutes", "-3s", "1d"])
def test_a_bad_duration_is_refused(text: str):
    with pytest.raises(LoadError, match="bad duration"):
        seconds(text)


def test_bad_options_are_refused_before_anything_starts():
    with pytest.raises(LoadError, match="unknown shape 'wave'"):
        check_options(LoadOptions(shape="wave"))
    with pytest.raises(LoadError, match="longer than 0"):
        check_options(LoadOptions(duration="0s"))
    # Not a scenario nor a known technique: the API is asked, and it is not there.
    with pytest.raises(LoadError, match="cannot list techniques"):
        check_options(LoadOptions(scenario="nope", host="http://127.0.0.1:9"))


def test_the_locust_command_carries_every_option(tmp_path: Path):
    opts = LoadOptions(
        scenario="n_plus_one", shape="spike", users=7, spawn_rate=2.5, duration="20s",
        host="http://127.0.0.1:8001", processes=3,
    )  # fmt: skip
    cmd = locust_command(opts, tmp_path)
    assert cmd[cmd.index("-f") + 1] == str(LOCUSTFILE)
    pairs = dict(zip(cmd, cmd[1:], strict=False))
    assert pairs["--users"] == "7" and pairs["--spawn-rate"] == "2.5"
    assert pairs["--run-time"] == "20s" and pairs["--shape"] == "spike"
    assert pairs["--processes"] == "3" and pairs["--host"] == "http://127.0.0.1:8001"
    assert pairs["--csv"] == str(tmp_path / "locust")
    assert pairs["--html"] == str(tmp_path / "report.html")
    assert "--headless" in cmd and cmd[-1] == "NPlusOneUser"


def test_defaults_are_left_to_locust_conf_except_a_bounded_run_time(tmp_path: Path):
    cmd = locust_command(LoadOptions(), tmp_path)
    assert "--users" not in cmd and "--spawn-rate" not in cmd and "--processes" not in cmd
    assert cmd[cmd.index("--run-time") + 1] == "1m" and cmd[-1] == "MixedBrowse"
    shaped = locust_command(LoadOptions(shape="soak"), tmp_path)
    assert "--run-time" not in shaped  # the shape's own length


def test_a_run_is_announced_to_the_labs_prometheus_only_while_it_lasts(tmp_path: Path):
    folder = tmp_path / "prometheus" / "loadgen"
    with prometheus_target(folder, 9999, "load-1"):
        assert not folder.exists()  # no lab here: nothing to register with
    (tmp_path / "prometheus").mkdir()
    with prometheus_target(folder, 9999, "load-1"):
        files = list(folder.iterdir())
        assert [f.name for f in files] == ["load-1.json"]
        assert json.loads(files[0].read_text()) == [{"targets": ["127.0.0.1:9999"]}]
    assert list(folder.iterdir()) == []
