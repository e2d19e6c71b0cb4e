"""Reading py-spy's speedscope JSON: pseudo-frames dropped, own and total time, changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perflab.profile import speedscope

LAB = "/work/repo/services/perflab/api/techniques/n_plus_one.py"
LIB = "/work/repo/.venv/lib/python3.11/site-packages/asyncpg/connection.py"


def _write(tmp_path: Path, frames: list[dict], profiles: list[dict]) -> Path:
    path = tmp_path / "p.json"
    doc = {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": frames},
        "profiles": profiles,
    }
    path.write_text(json.dumps(doc))
    return path


FRAMES = [
    {"name": 'process 11:"python -m uvicorn"', "file": "", "line": 0},  # 0: py-spy's pseudo
    {"name": "run", "file": "/usr/lib/python3.11/asyncio/runners.py", "line": 118},  # 1
    {"name": "naive", "file": LAB, "line": 40},  # 2
    {"name": "Connection.fetchrow", "file": LIB, "line": 700},  # 3
    {"name": "naive", "file": LAB, "line": 44},  # 4: same function, another line
]


def _profile(name: str, samples: list[list[int]]) -> dict:
    return {
        "type": "sampled", "name": name, "unit": "seconds", "startValue": 0, "endValue": 1,
        "samples": samples, "weights": [0.01] * len(samples),
    }  # fmt: skip


def test_own_and_total_time_of_functions(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        FRAMES,
        [
            _profile('Process 11 Thread 11 "MainThread"', [[0, 1, 2, 3], [0, 1, 4], [0, 1]]),
            _profile('Process 12 Thread 12 "MainThread"', [[0, 1, 2, 3]]),
        ],
    )
    samples = speedscope.load(path)
    assert samples.count == 4 and samples.processes == 2
    assert samples.seconds == pytest.approx(0.04)
    # The pseudo-frame is gone; stacks are root first.
    assert all(stack[0][0] == "run" for stack, _ in samples.stacks)
    rows = {r.name: r for r in speedscope.rows(samples)}
    assert rows["Connection.fetchrow"].own_share == pytest.approx(0.5)
    assert rows["naive"].own_share == pytest.approx(0.25)
    assert rows["naive"].total_share == pytest.approx(0.75)  # lines 40 and 44 are one function
    assert rows["naive"].where == "perflab/api/techniques/n_plus_one.py" and rows["naive"].lab_code
    assert rows["Connection.fetchrow"].where == "asyncpg/connection.py"
    assert not rows["Connection.fetchrow"].lab_code
    assert rows["run"].total_share == pytest.approx(1.0) and rows["run"].own_share == 0.25
    # Ties on own time go to the larger total.
    assert [r.name for r in speedscope.top(samples, 3)] == ["Connection.fetchrow", "run", "naive"]
    assert [r.name for r in speedscope.top_by_total(samples, 5, lab_only=True)] == ["naive"]


def test_recursion_counts_once_per_sample(tmp_path: Path) -> None:
    path = _write(tmp_path, FRAMES, [_profile("Thread 1", [[1, 2, 4, 2, 3]])])
    rows = {r.name: r for r in speedscope.rows(speedscope.load(path))}
    assert rows["naive"].total_share == pytest.approx(1.0)


def test_folded_stacks_name_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, FRAMES, [_profile("Thread 1", [[0, 1, 2], [0, 1, 4]])])
    folded = speedscope.folded(speedscope.load(path))
    key = ("run (asyncio/runners.py)", "naive (perflab/api/techniques/n_plus_one.py)")
    assert folded == {key: pytest.approx(0.02)}


def test_changes_rank_the_functions_whose_share_moved_most(tmp_path: Path) -> None:
    before = speedscope.load(
        _write(tmp_path, FRAMES, [_profile("T", [[1, 2, 3], [1, 2, 3], [1, 2], [1]])])
    )
    after_path = tmp_path / "after"
    after_path.mkdir()
    after = speedscope.load(_write(after_path, FRAMES, [_profile("T", [[1], [1], [1, 2, 3], [1]])]))
    changes = speedscope.changes(before, after, 3)
    by_name = {c.name: c for c in changes}
    assert by_name["Connection.fetchrow"].before == pytest.approx(0.5)
    assert by_name["Connection.fetchrow"].after == pytest.approx(0.25)
    assert by_name["naive"].delta == pytest.approx(0.25 - 0.75)
    assert changes[0].name == "naive"  # -50 points, the largest move
    assert "run" not in by_name or by_name["run"].delta == 0  # 100% in both: no change


def test_a_change_is_beyond_noise_only_with_enough_samples(tmp_path: Path) -> None:
    def changes(repeat: int, folder: str) -> dict[str, speedscope.Change]:
        (tmp_path / folder).mkdir()
        before = speedscope.load(
            _write(tmp_path / folder, FRAMES, [_profile("T", [[1, 2, 3], [1]] * repeat)])
        )
        (tmp_path / folder / "after").mkdir()
        after = speedscope.load(
            _write(tmp_path / folder / "after", FRAMES, [_profile("T", [[1], [1]] * repeat)])
        )
        return {c.name: c for c in speedscope.changes(before, after, 5)}

    few, many = changes(2, "few"), changes(200, "many")
    # The same shares either way (naive: 50% -> 0%) ...
    assert few["naive"].delta == pytest.approx(-0.5)
    assert many["naive"].delta == pytest.approx(-0.5)
    # ... but 4 samples cannot tell it from luck, 400 can: 2 SE = 2 * sqrt(.25 / n).
    assert few["naive"].noise == pytest.approx(2 * (0.25 / 4) ** 0.5)
    assert not few["naive"].beyond_noise
    assert many["naive"].noise == pytest.approx(2 * (0.25 / 400) ** 0.5)
    assert many["naive"].beyond_noise
    assert not many["run"].beyond_noise  # 100% in both: no move, no noise


def test_changes_of_the_labs_own_code_only(tmp_path: Path) -> None:
    before = speedscope.load(_write(tmp_path, FRAMES, [_profile("T", [[1, 2, 3], [1]])]))
    after_path = tmp_path / "after"
    after_path.mkdir()
    after = speedscope.load(_write(after_path, FRAMES, [_profile("T", [[1], [1]])]))
    assert [c.name for c in speedscope.changes(before, after, 5, lab_only=True)] == ["naive"]
    assert "Connection.fetchrow" in {c.name for c in speedscope.changes(before, after, 5)}
