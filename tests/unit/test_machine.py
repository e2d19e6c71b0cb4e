"""The machine's speed around an experiment: the fixed CPU probe and the host's steal."""

from __future__ import annotations

from collections import namedtuple

import pytest

from perflab import machine

# The shape of `psutil.cpu_times()` on Linux (seconds), and on a platform without steal.
Times = namedtuple("Times", "user nice system idle iowait irq softirq steal guest guest_nice")
NoSteal = namedtuple("NoSteal", "user nice system idle")


def test_steal_is_a_share_of_the_cpu_time_between_two_readings() -> None:
    before = Times(100, 0, 10, 880, 0, 0, 0, 10, 7, 0)
    later = Times(400, 0, 10, 1480, 0, 0, 0, 110, 9, 0)  # 1,000 s more, 100 stolen
    # Guest time is already inside user time: not counted twice.
    assert machine.steal_share(before, later) == pytest.approx(0.1)
    assert machine.steal_share(before, before) is None  # no time between them
    assert machine.steal_share(NoSteal(1, 0, 1, 1), NoSteal(2, 0, 2, 2)) is None


def test_a_watch_times_the_probe_twice_and_takes_steal_between() -> None:
    result = machine.Watch(settle_seconds=0).stop()
    assert result.probe_before_ms > 0 and result.probe_after_ms > 0
    assert result.probe_ms == min(result.probe_before_ms, result.probe_after_ms)
    assert result.steal_share is not None and 0 <= result.steal_share < 1
    assert all(0 <= busy <= 1 for busy in (result.busy_before, result.busy_after))
    text = result.describe()
    assert f"{result.probe_before_ms:.2f} ms ({result.busy_before:.0%} busy) at the start" in text
    assert f"steal {result.steal_share:.1%} (CPU time the hypervisor gave other guests)" in text


def test_without_steal_figures_steal_is_unknown_and_said() -> None:
    speed = machine.Machine(5.0, 5.2, None)
    assert "steal not known (the platform reports none)" in speed.describe()
    assert "steal 10.0% (CPU time" in machine.Machine(5.0, 5.2, 0.1).describe()


def test_the_probe_waits_for_an_idle_machine_and_says_how_busy_it_was() -> None:
    probe = machine.probe(settle_seconds=1)
    assert probe.ms > 0 and probe.busy is not None and 0 <= probe.busy <= 1
    assert probe.describe() == f"{probe.ms:.2f} ms ({probe.busy:.0%} busy)"
    speed = machine.Machine(5.1, 9.3, 0.0, busy_before=0.02, busy_after=0.6)
    assert speed.probe_ms == 5.1  # the slower probe ran beside leftover work
    assert speed.describe().startswith(
        "a fixed CPU probe took 5.10 ms (2% busy) at the start and 9.30 ms (60% busy) at the end"
    )


def test_a_benchmark_report_ends_with_the_machine_speed_when_it_has_one() -> None:
    assert machine.report_lines({}) == []
    speed = {"probe_before_ms": 5.05, "probe_after_ms": 7.9, "steal_share": 0.0}
    (line,) = machine.report_lines({"machine": speed})
    assert line.startswith("machine speed: a fixed CPU probe took 5.05 ms at the start")
