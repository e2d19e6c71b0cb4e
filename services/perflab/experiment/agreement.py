"""Does a run repeat an earlier one? Each technique's headline improvement, side by side.

Repeats inside one run share the machine's state of that minute; a second run, minutes
or days later, is the honest test of whether a figure repeats. Two improvements agree
when they are within `AGREEMENT` of each other: largest / smallest − 1, the measure the
repeats inside a run use too. Each row also sets the two runs' CPU probes side by side
(perflab/machine.py): where the machine itself ran at another speed, a ratio between
a CPU-bound arm and one of fixed waits is expected to move with it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perflab.experiment.verdict import AGREEMENT, spread, taken_to_zero
from perflab.machine import Machine

# Settings that change what a figure measures: runs that differ in them are compared,
# with the difference said.
COMPARABLE_SETTINGS = (
    "service", "duration_seconds", "repeats", "users", "think_seconds", "seed",
)  # fmt: skip


class AgreementError(Exception):
    """An earlier report that cannot be read; the message says which file and why."""


@dataclass(frozen=True)
class Row:
    technique: str
    label: str
    now: float | None
    earlier: float | None
    why: str = ""  # when there is nothing to compare
    probe_now: float | None = None  # the machine's speed (CPU probe ms), each run
    probe_earlier: float | None = None

    @property
    def apart(self) -> float | None:
        """The two runs as two repeats: largest / smallest − 1 (None without both)."""
        return spread((self.now, self.earlier)).value

    @property
    def agree(self) -> bool:
        return self.apart is not None and not spread((self.now, self.earlier)).disagree

    @property
    def speed_moved(self) -> bool:
        """The machine ran the same CPU probe more than `AGREEMENT` apart in the two runs."""
        return spread((self.probe_now, self.probe_earlier)).disagree


def load(path: Path) -> list[dict[str, Any]]:
    """The techniques of an earlier report: a `--all` folder (summary.json), one
    technique's folder (results.json), or either file itself."""
    candidates = [path] if path.is_file() else [path / "summary.json", path / "results.json"]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        raise AgreementError(f"{path}: no summary.json or results.json (an experiment's folder?)")
    try:
        data = json.loads(found.read_text())
    except (OSError, ValueError) as exc:
        raise AgreementError(f"{found}: not an experiment's JSON ({exc})") from exc
    runs = data if isinstance(data, list) else [data]
    if not all(isinstance(r, dict) and "config" in r and "figures" in r for r in runs):
        raise AgreementError(f"{found}: not an experiment's JSON (no config and figures)")
    return runs


def _probe_ms(run: dict[str, Any] | None) -> float | None:
    """The run's machine speed (Machine.probe_ms); None for reports without a probe."""
    speed = (run or {}).get("machine")
    try:
        return Machine.from_json(speed).probe_ms if speed else None
    except (KeyError, TypeError):  # a report edited by hand: no probe to compare
        return None


def _headline(run: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    key = run.get("key_figure")
    return key, run["figures"].get(key) if key else None


def compare(now: Sequence[dict[str, Any]], earlier: Sequence[dict[str, Any]]) -> list[Row]:
    """One row per technique of this run, in its order."""
    before = {run["config"]["flag"]: run for run in earlier}
    return [_row(run, before.pop(run["config"]["flag"], None)) for run in now]


def _row(run: dict[str, Any], old: dict[str, Any] | None) -> Row:
    flag = run["config"]["flag"]
    key, figure = _headline(run)
    label = (figure or {}).get("label") or key or "–"
    probes = {"probe_now": _probe_ms(run), "probe_earlier": _probe_ms(old)}
    if old is None:
        return Row(flag, label, _improvement(figure), None, "not in the earlier run", **probes)
    old_key, old_figure = _headline(old)
    if old_key != key:
        why = f"the earlier run's key figure was {old_key}"
        return Row(flag, label, _improvement(figure), None, why, **probes)
    gone = [_eliminated(f) for f in (figure, old_figure)]
    why = ""
    if any(gone):
        why = (
            "taken to 0 in both runs (no ratio to compare)"
            if all(gone)
            else f"taken to 0 only in the {'current' if gone[0] else 'earlier'} run"
        )
    return Row(flag, label, _improvement(figure), _improvement(old_figure), why, **probes)


def _eliminated(figure: dict[str, Any] | None) -> bool:
    """The flag took a lower-is-better figure from some to 0 (read from the values, so
    reports written before the `eliminated` field count too)."""
    f = figure or {}
    return taken_to_zero(f.get("better"), f.get("a"), f.get("b"))


def only_earlier(now: Sequence[dict[str, Any]], earlier: Sequence[dict[str, Any]]) -> list[str]:
    """Techniques the earlier run measured and this one did not."""
    measured = {run["config"]["flag"] for run in now}
    return [flag for run in earlier if (flag := run["config"]["flag"]) not in measured]


def _improvement(figure: dict[str, Any] | None) -> float | None:
    value = (figure or {}).get("improvement")
    return float(value) if isinstance(value, int | float) else None


def setting_differences(
    now: Sequence[dict[str, Any]], earlier: Sequence[dict[str, Any]]
) -> list[str]:
    """Settings the two runs did not share (from their first techniques)."""
    if not now or not earlier:
        return []
    a, b = now[0]["config"], earlier[0]["config"]
    return [
        f"{name}: {a.get(name)} now, {b.get(name)} earlier"
        for name in COMPARABLE_SETTINGS
        if a.get(name) != b.get(name)
    ]


def _factor(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _probes(row: Row) -> str:
    if row.probe_now is None or row.probe_earlier is None:
        return "–"
    moved = f" **>{AGREEMENT:.0%}**" if row.speed_moved else ""
    return f"{row.probe_now:.2f} / {row.probe_earlier:.2f} ms{moved}"


def markdown(
    rows: Sequence[Row],
    earlier: Path,
    differences: Sequence[str] = (),
    missing: Sequence[str] = (),
) -> str:
    lines = [
        f"## Against {earlier}",
        "",
        "| technique | key figure | improvement now | earlier | apart | CPU probe now / earlier |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        if row.apart is None:
            apart = row.why or "–"
        else:
            apart = f"{row.apart:.1%}" + ("" if row.agree else f" **>{AGREEMENT:.0%}**")
        lines.append(
            f"| `{row.technique}` | {row.label} | {_factor(row.now)} | {_factor(row.earlier)} "
            f"| {apart} | {_probes(row)} |"
        )
    compared = [r for r in rows if r.apart is not None]
    lines += [
        "",
        f"{sum(r.agree for r in compared)} of {len(compared)} headline improvements within "
        f"{AGREEMENT:.0%} of the earlier run's (apart = largest / smallest − 1).",
    ]
    moved = [r for r in rows if r.speed_moved]
    if moved:
        lines += [
            "",
            f"The machine's speed moved by more than {AGREEMENT:.0%} for "
            + ", ".join(f"`{r.technique}`" for r in moved)
            + ": the same fixed CPU work (the probe, timed before and after each technique) "
            "took that much longer or shorter in one run. A ratio between a CPU-bound arm "
            "and one of fixed waits moves with the machine's speed. The probe is a "
            "snapshot of an idle machine, seconds long: a VM's speed can change from one "
            "second to the next, and probes that agree do not prove the arms ran at the "
            "same speed.",
        ]
    if any(r.probe_now is None or r.probe_earlier is None for r in rows):
        lines += ["", "CPU probe –: a run without one (reports from before the probe)."]
    if missing:
        lines += ["", "Only in the earlier run: " + ", ".join(f"`{m}`" for m in missing) + "."]
    if differences:
        lines += ["", "Settings that differ: " + "; ".join(differences) + "."]
    return "\n".join(lines) + "\n"
