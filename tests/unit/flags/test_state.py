"""FlagState orders what it applies by the flip version Redis hands out."""

from __future__ import annotations

import json

from perflab.flags.state import FlagState, Flip
from perflab.settings import FlagSettings

FLAG = "gzip"


def _state() -> FlagState:
    return FlagState(FlagSettings(default_enabled=True))


def test_an_older_flip_does_not_undo_a_newer_one():
    state = _state()
    assert state.apply({FLAG: False}, 2)
    assert not state.apply({FLAG: True}, 1)
    assert state.enabled(FLAG) is False
    assert state.version == 2


def test_a_snapshot_read_before_a_concurrent_flip_is_stale():
    state = _state()
    seen_before = state.version  # 0: the read was sent now
    state.apply({FLAG: False}, 1)  # a flip lands while the read is in flight
    assert not state.from_redis({FLAG: "1"}, 0, seen_before)
    assert state.enabled(FLAG) is False


def test_a_snapshot_older_than_what_we_held_means_redis_was_reset():
    state = _state()
    state.apply({FLAG: False}, 7)
    assert state.from_redis({}, 0, seen_before=7)  # empty hash: defaults again
    assert state.enabled(FLAG) is True
    assert state.version == 0
    assert state.apply({FLAG: False}, 1)  # flips counting from 1 again apply


def test_entries_carry_their_version_and_old_entries_read_as_version_zero():
    entry = {"flag": FLAG, "old": True, "new": False, "actor": "t", "at": "x"}
    flip, version = Flip.from_entry(json.dumps({**entry, "version": 3}))
    assert (flip.flag, flip.old, flip.new, version) == (FLAG, True, False, 3)
    assert Flip.from_entry(json.dumps(entry)) == (Flip(**entry), 0)
