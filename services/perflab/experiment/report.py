"""Writes an experiment's folder (report.md, results.json, charts) and the --all summary."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from perflab.experiment import charts
from perflab.experiment.effects import FigureResult
from perflab.experiment.pace import describe_pace, think_time
from perflab.experiment.result import Result
from perflab.experiment.verdict import AGREEMENT, against, state

VERDICTS = (
    "Verdicts against the effect the lab promises (P): **met** — the 95% interval's lower "
    "end reaches P; **likely** — the point estimate reaches P but the interval reaches "
    "below it; **missed** — the point estimate is below P. Improvements are always "
    '"times better with the flag on" (>1: the flag helps). Repeats: the improvement '
    "of each A/B pair alone; pairs more than "
    f"{AGREEMENT:.0%} apart (largest / smallest − 1) are flagged **disagree**."
)


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "s":
        return f"{value * 1000:.2f} ms"
    if unit == "bytes":
        for scale, suffix in ((1 << 20, "MiB"), (1 << 10, "KiB")):
            if abs(value) >= scale:
                return f"{value / scale:.1f} {suffix}"
        return f"{value:.0f} B"
    if unit == "ratio":
        return f"{value:.3f}"
    if unit == "count":
        return f"{value:.2f}"
    return f"{value:,.0f} {unit}" if abs(value) >= 100 else f"{value:.3g} {unit}"


# Above this share of failed requests in an arm, its figures describe the failures.
MAX_ERROR_RATIO = 0.05


def failing(result: Result) -> str | None:
    """Why no verdict can be given because an arm mostly failed, or None."""
    errors = next((f for f in result.figures if f.name == "error_ratio"), None)
    e = errors.estimate if errors else None
    if e is None or max(e.a, e.b) <= MAX_ERROR_RATIO:
        return None
    return f"{e.a:.0%} of requests failed with the flag off, {e.b:.0%} with it on"


def verdict(result: Result) -> str:
    figure, promise = result.key()
    flag = result.config.flag
    failed = failing(result)
    if failed:
        return f"{flag}: no verdict — {failed} (see the service's log)."
    if figure is not None and figure.eliminated:
        return f"{flag} on: {_eliminated(figure, promise)}."
    effect = figure.effect() if figure else None
    if figure is None or effect is None:
        why = figure.note if figure else "it is not measured"
        return f"{flag}: no verdict — the key figure has no value in one arm ({why})."
    line = f"{flag} on: {figure.label} improvement "
    if promise is not None:
        line += against(effect, promise)
    else:
        line += effect.describe()
        if effect.low is not None and effect.high is not None and effect.low <= 1 <= effect.high:
            line += " — not distinguishable from no change"
    if len(figure.spread.factors) > 1:
        line += f"; repeats {figure.spread.describe()}"
    return line + "."


NONE_LEFT = "none left (no finite ratio)"


def _eliminated(figure: FigureResult, promise: float | None) -> str:
    """`asset requests per page view 2.02 -> 0 with the flag on: none left (no finite ratio)`;
    any promise is met, as every B window was 0 and A's were not."""
    assert figure.estimate is not None
    line = f"{figure.label} {format_value(figure.estimate.a, figure.unit)} → 0 with the flag on: "
    line += NONE_LEFT
    return (
        line
        if promise is None
        else f"{line}, promised ≥ {promise:g}×: {_key_state(figure, promise)}"
    )


def _key_state(figure: FigureResult | None, promise: float | None) -> str | None:
    if figure is None or promise is None:
        return None
    if figure.eliminated:
        return "met"
    effect = figure.effect()
    return None if effect is None else state(effect, promise)


def _figure_rows(figures: list[FigureResult]) -> list[str]:
    rows = [
        "| figure | source | A (flag off) | B (flag on) | B/A | 95% CI of B/A | better "
        "| repeats (improvement per pair) | n (A/B) or why no value |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        e = f.estimate
        if e is None:
            a, b = format_value(f.only.get("A"), f.unit), format_value(f.only.get("B"), f.unit)
            rows.append(
                f"| {f.label} | {f.source} | {a} | {b} | – | – | {f.better} | – | {f.note} |"
            )
            continue
        ci = f"{e.low:.3f}–{e.high:.3f}" if e.low is not None and e.high is not None else "–"
        ratio = f"{e.ratio:.3f}" if e.ratio is not None else "–"
        unit = " windows" if f.source != "client" else ""
        n = f"{e.n_a}/{e.n_b}{unit}" + (f"; {f.note}" if f.note else "")
        rows.append(
            f"| {f.label} | {f.source} | {format_value(e.a, f.unit)} "
            f"| {format_value(e.b, f.unit)} | {ratio} "
            f"| {ci} | {f.better} | {f.spread.describe()} | {n} |"
        )
    return rows


def load_draws(seed: int | None) -> str:
    """How the load drew its ids, pages and keys, for a report's Load line."""
    if seed is None:
        return "fresh random ids, pages and keys"
    return f"ids, pages and keys drawn from seed {seed}, the same in every run"


def write(result: Result, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    names = charts.write(result, out)
    cfg, t = result.config, result.technique
    lines = [
        f"# Experiment: `{cfg.flag}`",
        "",
        f"**Verdict:** {verdict(result)}",
        "",
        f"- Technique: {t.get('summary', '')} (`{t.get('method')} {t.get('path')}`)",
        f"- A = flag off: {t.get('naive', '')}",
        f"- B = flag on: {t.get('optimised', '')}",
        f"- Load: scenario `{cfg.scenario or cfg.flag}`, {cfg.users} users, "
        f"{describe_pace(think_time(cfg))} "
        f"({load_draws(cfg.seed)}), one Locust run for the whole experiment; "
        f"{cfg.repeats}× A/B interleaved; each arm measured for "
        f"{result.measured_seconds:g} s (at least {cfg.min_requests} answers of the route) "
        f"after a flip and {max(cfg.settle_seconds, cfg.warmup_seconds):g} s of warm-up",
        f"- Run: {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(result.started))}, "
        f"{result.ended - result.started:.0f} s",
        *([f"- Machine speed: {result.machine.describe()}"] if result.machine else []),
        *(f"- Note: {note}" for note in result.notes),
        "",
        VERDICTS,
        "",
        "Client figures use every request Locust made inside the arm windows (bootstrap "
        "over requests; RPS over seconds). Server figures are exact: what the service's "
        "counters and histograms (its own series, by `service` label) gained between two "
        "direct scrapes of its `/metrics` at each window's start and end, one value per "
        "window, so their interval is over "
        "the repeats. RSS peak and event-loop lag are sampled by Prometheus, only over "
        "windows of at least four scrape intervals. A figure without a value says why.",
        "",
        *_figure_rows(result.figures),
        "",
        *(f"![{name}]({name})" for name in names),
        "",
    ]
    (out / "report.md").write_text("\n".join(lines))
    (out / "results.json").write_text(json.dumps(as_json(result), indent=2))


def _figure_json(f: FigureResult) -> dict[str, Any]:
    effect = f.effect()
    return {
        "label": f.label,
        "unit": f.unit,
        "better": f.better,
        "source": f.source,
        "note": f.note,
        **({} if f.estimate is None else asdict(f.estimate)),
        "only": f.only,
        "improvement": effect.factor if effect else None,
        "improvement_ci": [effect.low, effect.high] if effect else None,
        "eliminated": f.eliminated,
        "pairs": f.pairs,
        "spread": f.spread.value,
        "repeats_disagree": f.spread.disagree,
    }


def as_json(result: Result) -> dict[str, Any]:
    figure, promise = result.key()
    return {
        "config": asdict(result.config) | {"admin_token": None},
        "technique": result.technique,
        "started": result.started,
        "ended": result.ended,
        "measured_seconds": result.measured_seconds,
        "machine": asdict(result.machine) if result.machine else None,
        "notes": result.notes,
        "verdict": verdict(result),
        "key_figure": figure.name if figure else None,
        "promise": promise,
        "promise_state": None if failing(result) else _key_state(figure, promise),
        "arms": [
            {
                "label": arm.label,
                "repeat": arm.repeat,
                "flag_enabled": arm.enabled,
                "flipped": arm.started,
                "measured_from": arm.measured_from,
                "ended": arm.ended,
                "requests": len(arm.measured()),
                "failures": sum(s.failed for s in arm.measured()),
                "stray": arm.stray,
                "server": result.server.get(f"{arm.label}{arm.repeat}", {}),
                "why": result.why.get(f"{arm.label}{arm.repeat}", {}),
            }
            for arm in result.arms
        ],
        "figures": {f.name: _figure_json(f) for f in result.figures},
    }


def _summary_row(result: Result) -> str:
    figure, promise = result.key()
    flag = f"`{result.config.flag}`"
    effect = figure.effect() if figure else None
    failed = failing(result)
    if figure is not None and figure.eliminated and not failed:
        assert figure.estimate is not None
        before = format_value(figure.estimate.a, figure.unit)
        promised = "–" if promise is None else f"≥ {promise:g}×: {_key_state(figure, promise)}"
        return (
            f"| {flag} | {figure.label} | {before} | 0 | {NONE_LEFT} | – "
            f"| {promised} | 0 in every B window |"
        )
    if figure is None or figure.estimate is None or effect is None or failed:
        note = failed or (figure.note if figure else "not measured")
        return (
            f"| {flag} | {figure.label if figure else '–'} | – | – | no data: {note} | – | – | – |"
        )
    e = figure.estimate
    ci = f"{effect.low:.2f}–{effect.high:.2f}×" if effect.low is not None else "–"
    worse = " (worse)" if effect.factor < 1 else ""
    verdict_cell = "–" if promise is None else f"≥ {promise:g}×: {state(effect, promise)}"
    return (
        f"| {flag} | {figure.label} | {format_value(e.a, figure.unit)} "
        f"| {format_value(e.b, figure.unit)} "
        f"| {effect.factor:.2f}×{worse} | {ci} | {verdict_cell} | {figure.spread.describe()} |"
    )


def write_summary(results: list[Result], out: Path, failed: dict[str, str] | None = None) -> str:
    lines = [
        "| technique | key figure | flag off (A) | flag on (B) | improvement | 95% CI "
        "| promise | repeats (improvement per pair) |",
        "|---|---|---|---|---|---|---|---|",
        *(_summary_row(result) for result in results),
        *(
            f"| `{name}` | – | – | – | failed: {why} | – | – | – |"
            for name, why in (failed or {}).items()
        ),
    ]
    table = "\n".join(lines)
    flagged = [r.config.flag for r in results if (f := r.key()[0]) and f.spread.disagree]
    notes = [f"- `{r.config.flag}`: {n}" for r in results for n in r.notes if "instead" in n]
    text = "\n".join(
        [
            "# perflab: every technique, A/B",
            "",
            table,
            "",
            VERDICTS,
            "",
            f"Repeats that disagree by more than {AGREEMENT:.0%}: "
            + (", ".join(f"`{f}`" for f in flagged) if flagged else "none"),
            *([""] + notes if notes else []),
            "",
        ]
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.md").write_text(text)
    (out / "summary.json").write_text(json.dumps([as_json(r) for r in results], indent=2))
    return table
