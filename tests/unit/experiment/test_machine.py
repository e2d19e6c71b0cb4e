"""The machine's speed around an experiment: the fixed CPU probe and the host's steal."""

from __future__ import annotations

from pathlib import Path

import pytest

from perflab.experiment import machine


def _stat(path: Path, user: int, idle: int, steal: int) -> Path:
    # user nice system idle iowait irq softirq steal guest guest_nice
    path.write_text(f"cpu  {user} 0 10 {idle} 0 0 0 {steal} 7 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
    return path


def test_steal_and_total_ticks_are_read_from_the_all_cores_line(tmp_path: Path) -> None:
    # Guest time (7) is already inside user time: not counted twice.
    ticks = machine.cpu_ticks(_stat(tmp_path / "stat", 100, 880, 10))
    assert ticks == machine.Ticks(steal=10, idle=880, total=1000)
    later = machine.Ticks(steal=60, idle=1180, total=1500)
    assert ticks.share(later) == pytest.approx((0.1, 0.4))  # of the 500 ticks between
    assert ticks.share(ticks) is None
    assert machine.cpu_ticks(tmp_path / "absent") is None
    (tmp_path / "odd").write_text("intr 1 2 3\n")
    assert machine.cpu_ticks(tmp_path / "odd") is None


def test_a_watch_times_the_probe_twice_and_takes_steal_between(tmp_path: Path) -> None:
    stat = _stat(tmp_path / "stat", 100, 880, 10)
    watch = machine.Watch(stat, settle_seconds=0)
    _stat(stat, 400, 1480, 110)  # 1,000 ticks more, 100 of them stolen
    result = watch.stop()
    assert result.steal_share == pytest.approx(0.1)
    assert result.probe_before_ms > 0 and result.probe_after_ms > 0
    assert result.probe_ms == min(result.probe_before_ms, result.probe_after_ms)
    text = result.describe()
    # The fake /proc/stat does not move while the probe waits: how busy is not known.
    assert result.busy_before is None and result.busy_after is None
    assert f"{result.probe_before_ms:.2f} ms at the start" in text
    assert "steal 10.0% (CPU time the hypervisor gave other guests)" in text


def test_without_proc_stat_steal_is_unknown_and_said(tmp_path: Path) -> None:
    result = machine.Watch(tmp_path / "absent", settle_seconds=0).stop()
    assert result.steal_share is None
    assert "steal not known (no /proc/stat)" in result.describe()


def test_the_probe_waits_for_an_idle_machine_and_says_how_busy_it_was() -> None:
    probe = machine.probe(settle_seconds=1)
    assert probe.ms > 0 and probe.busy is not None and 0 <= probe.busy <= 1
    assert probe.describe() == f"{probe.ms:.2f} ms ({probe.busy:.0%} busy)"
    speed = machine.Machine(5.1, 9.3, 0.0, busy_before=0.02, busy_after=0.6)
    assert speed.probe_ms == 5.1  # the slower probe ran beside leftover work
    assert speed.describe().startswith(
        "a fixed CPU probe took 5.10 ms (2% busy) at the start and 9.30 ms (60% busy) at the end"
    )
