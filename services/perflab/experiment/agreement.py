"""Does a run repeat an earlier one? Each technique's headline improvement, side by side.

Repeats inside one run share the machine's state of that minute; a second run, minutes
or days later, is the honest test of whether a figure repeats. Two improvements agree
when they are within `AGREEMENT` of each other: largest / smallest − 1, the measure the
repeats inside a run use too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perflab.experiment.verdict import AGREEMENT, spread, taken_to_zero

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

    @property
    def apart(self) -> float | None:
        """The two runs as two repeats: largest / smallest − 1 (None without both)."""
        return spread((self.now, self.earlier)).value

    @property
    def agree(self) -> bool:
        return self.apart is not None and not spread((self.now, self.earlier)).disagree


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


def _headline(run: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    key = run.get("key_figure")
    return key, run["figures"].get(key) if key else None


def compare(now: Sequence[dict[str, Any]], earlier: Sequence[dict[str, Any]]) -> list[Row]:
    """One row per technique of this run, in its order."""
    before = {run["config"]["flag"]: run for run in earlier}
    rows = []
    for run in now:
        flag = run["config"]["flag"]
        key, figure = _headline(run)
        label = (figure or {}).get("label") or key or "–"
        old = before.pop(flag, None)
        if old is None:
            rows.append(Row(flag, label, _improvement(figure), None, "not in the earlier run"))
            continue
        old_key, old_figure = _headline(old)
        if old_key != key:
            why = f"the earlier run's key figure was {old_key}"
            rows.append(Row(flag, label, _improvement(figure), None, why))
            continue
        gone = [_eliminated(f) for f in (figure, old_figure)]
        if any(gone):
            why = (
                "taken to 0 in both runs (no ratio to compare)"
                if all(gone)
                else f"taken to 0 only in the {'current' if gone[0] else 'earlier'} run"
            )
            rows.append(Row(flag, label, _improvement(figure), _improvement(old_figure), why))
            continue
        rows.append(Row(flag, label, _improvement(figure), _improvement(old_figure)))
    return rows


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


def markdown(
    rows: Sequence[Row],
    earlier: Path,
    differences: Sequence[str] = (),
    missing: Sequence[str] = (),
) -> str:
    lines = [
        f"## Against {earlier}",
        "",
        "| technique | key figure | improvement now | earlier | apart |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        if row.apart is None:
            apart = row.why or "–"
        else:
            apart = f"{row.apart:.1%}" + ("" if row.agree else f" **>{AGREEMENT:.0%}**")
        lines.append(
            f"| `{row.technique}` | {row.label} | {_factor(row.now)} | {_factor(row.earlier)} "
            f"| {apart} |"
        )
    compared = [r for r in rows if r.apart is not None]
    lines += [
        "",
        f"{sum(r.agree for r in compared)} of {len(compared)} headline improvements within "
        f"{AGREEMENT:.0%} of the earlier run's (apart = largest / smallest − 1).",
    ]
    if missing:
        lines += ["", "Only in the earlier run: " + ", ".join(f"`{m}`" for m in missing) + "."]
    if differences:
        lines += ["", "Settings that differ: " + "; ".join(differences) + "."]
    return "\n".join(lines) + "\n"
