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
    assert machine.cpu_ticks(_stat(tmp_path / "stat", 100, 880, 10)) == (10, 1000)
    assert machine.cpu_ticks(tmp_path / "absent") is None
    (tmp_path / "odd").write_text("intr 1 2 3\n")
    assert machine.cpu_ticks(tmp_path / "odd") is None


def test_a_watch_times_the_probe_twice_and_takes_steal_between(tmp_path: Path) -> None:
    stat = _stat(tmp_path / "stat", 100, 880, 10)
    watch = machine.Watch(stat)
    _stat(stat, 400, 1480, 110)  # 1,000 ticks more, 100 of them stolen
    result = watch.stop()
    assert result.steal_share == pytest.approx(0.1)
    assert result.probe_before_ms > 0 and result.probe_after_ms > 0
    assert result.probe_ms == pytest.approx((result.probe_before_ms + result.probe_after_ms) / 2)
    text = result.describe()
    assert f"{result.probe_before_ms:.2f} ms before the arms" in text
    assert "steal 10.0% (CPU time the hypervisor gave other guests)" in text


def test_without_proc_stat_steal_is_unknown_and_said(tmp_path: Path) -> None:
    result = machine.Watch(tmp_path / "absent").stop()
    assert result.steal_share is None
    assert "steal not known (no /proc/stat)" in result.describe()
