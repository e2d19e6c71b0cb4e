"""Load shapes: each curve's character, its length from --run-time, its peak from --users."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from loadgen.shapes import SHAPES, RampShape, SoakShape, SpikeShape, StepShape

from perflab.lab.load import SHAPES as LAB_SHAPES


def _curve(shape: type, peak: int = 10, points: int = 100) -> list[int]:
    return [shape.users_at(i / points, peak) for i in range(points)]


def test_the_lab_offers_exactly_the_shapes_the_locustfile_has():
    assert set(SHAPES) == set(LAB_SHAPES)


def test_ramp_rises_steadily_to_the_peak_then_holds():
    curve = _curve(RampShape)
    assert curve == sorted(curve)
    assert curve[0] == 1 and curve[-1] == 10
    assert curve.index(10) >= 50  # still rising past half-way through the ramp part
    assert curve[70:] == [10] * 30


def test_step_climbs_in_five_equal_steps():
    curve = _curve(StepShape)
    assert curve == sorted(curve)
    assert sorted(set(curve)) == [2, 4, 6, 8, 10]
    assert all(curve.count(level) == 20 for level in set(curve))


def test_spike_jumps_to_the_peak_in_the_middle_and_falls_back():
    curve = _curve(SpikeShape)
    assert set(curve[:40]) == {2} and set(curve[40:60]) == {10} and set(curve[60:]) == {2}
    assert _curve(SpikeShape, peak=3) == [1] * 40 + [3] * 20 + [1] * 40


def test_soak_reaches_the_peak_quickly_and_holds_it():
    curve = _curve(SoakShape)
    assert curve[10:] == [10] * 90 and curve[0] == 1


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0


def _shape(cls: type, **options: object) -> tuple:
    shape = cls()
    clock = _Clock()
    shape.get_run_time = lambda: clock.now
    defaults = {"num_users": None, "spawn_rate": None, "run_time": None}
    shape.runner = SimpleNamespace(environment=SimpleNamespace(parsed_options=SimpleNamespace(
        **(defaults | options)
    )))  # fmt: skip
    return shape, clock


@pytest.mark.parametrize("cls", list(SHAPES.values()))
def test_run_time_squeezes_the_curve_and_ends_the_test(cls: type):
    shape, clock = _shape(cls, num_users=20, spawn_rate=2, run_time=10)
    seen = []
    for second in range(10):
        clock.now = second
        users, rate = shape.tick()
        seen.append(users)
        assert rate >= 20  # fast enough to follow a jump to the peak within a tick
    assert seen == [cls.users_at(s / 10, 20) for s in range(10)]
    assert max(seen) == 20
    clock.now = 10
    assert shape.tick() is None


def test_without_options_a_shape_uses_its_own_length_and_peak():
    shape, clock = _shape(SpikeShape)
    clock.now = SpikeShape.default_seconds / 2
    assert shape.tick() == (10, 10.0)
    clock.now = SpikeShape.default_seconds
    assert shape.tick() is None
