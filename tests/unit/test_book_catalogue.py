"""book_catalogue: the statistics both forms answer, and `held_bytes` checked against
tracemalloc (what building the rows allocated and still holds)."""

from __future__ import annotations

import tracemalloc
from collections import namedtuple
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from perflab.api.techniques.compact_objects import Book as Slotted
from perflab.book_catalogue import (
    FIELDS,
    HeldCatalogue,
    held_bytes,
    statistics_of_objects,
    statistics_of_tuples,
)
from perflab.errors import NotFound

Row = namedtuple("Row", FIELDS)
GENRES = ("fantasy", "poetry", "history")
# Values made before tracing: both forms share them, and neither measure counts them.
VALUES = [(i, i % 97 + 1, f"Title {i}", GENRES[i % 3], 1950 + i % 70, 500 + i * 7 % 4000)
          for i in range(1, 5001)]  # fmt: skip
SHARED = list(range(200_000))  # something every row points at, as an ORM entity's mapper


class Stateful:
    """Like a model instance: an attribute dict and a state object of its own."""

    def __init__(self, *values: Any) -> None:
        self.__dict__.update(zip(FIELDS, values, strict=True))
        self.state = SimpleNamespace(db="default", adding=False, cache={})
        self.shared = SHARED


def traced_bytes(build: Callable[[], list[Any]]) -> tuple[list[Any], int]:
    # Every allocation but tracemalloc's own: a named tuple's __new__ is not in this file.
    # No other thread runs in a unit test to allocate meanwhile.
    mine = [tracemalloc.Filter(False, tracemalloc.__file__)]
    tracemalloc.start()
    try:
        rows = build()
        snapshot = tracemalloc.take_snapshot().filter_traces(mine)
    finally:
        tracemalloc.stop()
    return rows, sum(stat.size for stat in snapshot.statistics("filename"))


@pytest.mark.parametrize(
    "build",
    [
        lambda: [Row(*v) for v in VALUES],
        lambda: [Slotted(*v) for v in VALUES],  # the API's own form
        lambda: [Stateful(*v) for v in VALUES],
    ],
    ids=["named tuple", "slots", "instance with state"],
)
def test_held_bytes_is_what_building_the_rows_allocated(build: Callable[[], list[Any]]):
    rows, traced = traced_bytes(build)
    # getsizeof (objsize's measure) misses 8 B of a tuple subclass's 96: its allocator
    # reserves one more item than the tuple holds.
    assert held_bytes(rows) == pytest.approx(traced, rel=0.1)


def test_what_every_row_points_at_is_not_the_catalogues():
    rows = [Stateful(*v) for v in VALUES]
    per_row = held_bytes(rows) / len(rows)
    assert per_row < 1_000  # SHARED alone is 1.6 MB
    assert held_bytes(rows[:100]) / 100 == pytest.approx(per_row, rel=0.05)


def test_an_object_per_row_holds_several_times_a_named_tuple():
    objects, rows = [Stateful(*v) for v in VALUES], [Row(*v) for v in VALUES]
    assert held_bytes(objects) > 3 * held_bytes(rows)


def test_the_same_statistics_from_either_form():
    objects, rows = [Stateful(*v) for v in VALUES], [Row(*v) for v in VALUES]
    for genre in (None, *GENRES):
        assert statistics_of_objects(objects, genre) == statistics_of_tuples(rows, genre)
    poetry = statistics_of_tuples(rows, "poetry")
    assert poetry["books"] == sum(1 for v in VALUES if v[3] == "poetry")
    assert poetry["price_cents"]["min"] == min(v[5] for v in VALUES if v[3] == "poetry")
    with pytest.raises(NotFound, match="no-such-genre"):
        statistics_of_tuples(rows, "no-such-genre")


def test_one_form_held_at_a_time_and_loaded_once():
    held = HeldCatalogue()
    loads: list[str] = []

    def loader(variant: str, make: Callable[..., Any]) -> Callable[[], list[Any]]:
        return lambda: loads.append(variant) or [make(*v) for v in VALUES]

    naive = held.rows("naive", loader("naive", Stateful))
    assert held.rows("naive", loader("naive", Stateful)) is naive
    assert held.bytes_held["naive"] > 0 and held.bytes_held["optimised"] == 0
    held.rows("optimised", loader("optimised", Row))
    assert held.bytes_held["naive"] == 0 and held.bytes_held["optimised"] > 0
    assert loads == ["naive", "optimised"]
