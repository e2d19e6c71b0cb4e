"""Read a dashboard JSON back: its panels, their PromQL, and Grafana's macros filled in.

The tests use it to run every panel's query against a real Prometheus (or promtool),
the way Grafana would send it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

_MACRO = re.compile(r"\$__(rate_interval|interval|range)\b")
_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")
_LABEL_VALUES = re.compile(r"^label_values\((?:(?P<match>.+),\s*)?(?P<label>\w+)\)$")


@dataclass(frozen=True)
class Query:
    dashboard: str  # uid
    panel: str  # title, as shown in Grafana
    ref_id: str
    expr: str
    instant: bool
    datasource_uid: str | None

    @property
    def where(self) -> str:
        return f"{self.dashboard} / {self.panel} / {self.ref_id}"


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel that draws something, including those inside collapsed rows."""
    for panel in dashboard.get("panels", []):
        if panel["type"] == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def rows(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    return (panel for panel in dashboard.get("panels", []) if panel["type"] == "row")


def queries(dashboard: Mapping[str, Any]) -> Iterator[Query]:
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield Query(
                dashboard=dashboard["uid"],
                panel=panel["title"],
                ref_id=target.get("refId", ""),
                expr=target["expr"],
                instant=bool(target.get("instant")),
                datasource_uid=(target.get("datasource") or {}).get("uid"),
            )


def annotation_exprs(dashboard: Mapping[str, Any]) -> list[str]:
    return [a["expr"] for a in dashboard["annotations"]["list"] if a.get("expr")]


@dataclass(frozen=True)
class LabelValues:
    """A `label_values([match, ]label)` variable query."""

    label: str
    match: str | None


def label_values(query: str) -> LabelValues:
    found = _LABEL_VALUES.match(query.strip())
    if found is None:
        raise ValueError(f"not a label_values() query: {query!r}")
    return LabelValues(found["label"], found["match"])


def variables(dashboard: Mapping[str, Any]) -> dict[str, LabelValues]:
    return {v["name"]: label_values(v["query"]) for v in dashboard["templating"].get("list", [])}


def substitute(
    expr: str,
    *,
    rate_interval: str,
    interval: str,
    range_: str,
    values: Mapping[str, str] | None = None,
) -> str:
    """`expr` as Grafana sends it: macros and `$var` / `${var}` replaced.

    A variable without a value is an error, so a new variable cannot slip through.
    """
    macros = {"rate_interval": rate_interval, "interval": interval, "range": range_}
    expr = _MACRO.sub(lambda m: macros[m[1]], expr)
    values = values or {}

    def variable(m: re.Match[str]) -> str:
        name = m[1] or m[2]
        if name not in values:
            raise KeyError(f"no value for ${name} in {expr!r}")
        return values[name]

    return _VARIABLE.sub(variable, expr)
