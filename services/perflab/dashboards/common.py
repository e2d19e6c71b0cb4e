"""Building blocks every perflab dashboard shares: datasources, panels, flag annotations.

Panels are built with grafana-foundation-sdk builders; `finish` turns a dashboard
builder into the plain JSON dict Grafana loads (stable panel ids, ref ids, and the
Prometheus annotation fields the SDK model has no attribute for).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TypeVar

from grafana_foundation_sdk.builders.dashboard import (
    AnnotationQuery,
    Dashboard,
    DashboardLink,
    QueryVariable,
    TimePicker,
)
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.stat import Panel as StatPanel
from grafana_foundation_sdk.builders.statetimeline import Panel as StateTimelinePanel
from grafana_foundation_sdk.builders.table import Panel as TablePanel
from grafana_foundation_sdk.builders.timeseries import Panel as TimeseriesPanel
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DashboardLinkType,
    DataSourceRef,
    ValueMap,
    ValueMapping,
    ValueMappingResult,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from perflab.dashboards.queries import SERVICE_MATCHER, scoped

PROMETHEUS_UID = "perflab-prometheus"
ALERTMANAGER_UID = "perflab-alertmanager"
TRACES_UID = "perflab-traces"
PROMETHEUS = DataSourceRef(type_val="prometheus", uid=PROMETHEUS_UID)

FOLDER_TAG = "perflab"
# Flip annotations: Grafana evaluates them every FLIP_STEP; a window a little longer
# than the step sees every sample-to-sample change (the lab scrapes every 5 s).
FLIP_STEP = "10s"
FLIP_WINDOW = "15s"

FLAG_MAPPINGS: list[ValueMapping] = [
    ValueMap(
        options={
            "0": ValueMappingResult(text="off (naive)", color="red", index=0),
            "1": ValueMappingResult(text="on (optimised)", color="green", index=1),
        }
    )
]


def prom(
    expr: str,
    legend: str = "",
    *,
    instant: bool = False,
    exemplar: bool = False,
    as_table: bool = False,
) -> Dataquery:
    """A Prometheus target on the provisioned datasource, scoped to `$service`."""
    query = Dataquery().expr(scoped(expr)).datasource(PROMETHEUS)
    if legend:
        query = query.legend_format(legend)
    if instant:
        query = query.instant()
    if as_table:
        query = query.format(PromQueryFormat.TABLE)
    if exemplar:
        # Latency points link to their trace (datasource exemplar link -> perflab-traces).
        query = query.exemplar(True)
    return query


P = TypeVar("P", TimeseriesPanel, StatPanel, TablePanel, StateTimelinePanel)


def _with_targets(
    panel: P, title: str, unit: str, description: str, targets: Iterable[Dataquery],
    width: int, height: int,
) -> P:  # fmt: skip
    panel = panel.title(title).unit(unit).datasource(PROMETHEUS).span(width).height(height)
    if description:
        panel = panel.description(description)
    for index, target in enumerate(targets):
        panel = panel.with_target(target.ref_id(chr(ord("A") + index)))
    return panel


def timeseries(
    title: str, unit: str, *targets: Dataquery, description: str = "", width: int = 12,
    height: int = 8,
) -> TimeseriesPanel:  # fmt: skip
    return _with_targets(TimeseriesPanel(), title, unit, description, targets, width, height)


def stat(
    title: str, unit: str, *targets: Dataquery, description: str = "", width: int = 6,
    height: int = 5,
) -> StatPanel:  # fmt: skip
    return _with_targets(StatPanel(), title, unit, description, targets, width, height)


def table(
    title: str, unit: str, *targets: Dataquery, description: str = "", width: int = 12,
    height: int = 8,
) -> TablePanel:  # fmt: skip
    return _with_targets(TablePanel(), title, unit, description, targets, width, height)


def flag_state(
    expr: str = "max by (flag) (perflab_flag_enabled)",
    title: str = "Flag state",
    *,
    width: int = 24,
    height: int = 9,
) -> StateTimelinePanel:
    """Which path each flag selects, over time: read it against the panels below."""
    panel = _with_targets(
        StateTimelinePanel(),
        title,
        "bool_on_off",
        "perflab_flag_enabled per flag: on = optimised path, off = naive path.",
        [prom(expr, "{{flag}}")],
        width,
        height,
    )
    return panel.mappings(FLAG_MAPPINGS)


def _flip_annotation(name: str, color: str, turned_on: bool) -> AnnotationQuery:
    state = "max by (flag) (perflab_flag_enabled)"
    if not turned_on:
        state = f"1 - {state}"
    changed = f"max by (flag) (changes(perflab_flag_enabled[{FLIP_WINDOW}])) > 0"
    # Grafana draws positive points as events: 1 where the flag changed into this state.
    expr = f"({state} == 1) and on (flag) ({changed})"
    return (
        AnnotationQuery()
        .name(name)
        .datasource(PROMETHEUS)
        .enable(True)
        .icon_color(color)
        .expr(expr)
    )


ANNOTATION_EXTRAS: dict[str, dict[str, object]] = {
    name: {
        "step": FLIP_STEP,
        "titleFormat": title,
        "textFormat": "flag {{flag}}",
        "tagKeys": "flag",
        "useValueForTime": False,
    }
    for name, title in (
        ("Flag turned on", "{{flag}} on (optimised)"),
        ("Flag turned off", "{{flag}} off (naive)"),
    )
}


def flag_annotations() -> list[AnnotationQuery]:
    return [
        _flip_annotation("Flag turned on", "green", turned_on=True),
        _flip_annotation("Flag turned off", "red", turned_on=False),
    ]


def service_variable() -> QueryVariable:
    """Which web service(s) every panel shows: FastAPI, Django, Flask, or all of them."""
    return (
        QueryVariable("service")
        .label("Service")
        .description(
            "The web service(s) whose series every panel shows. Shared parts (the Celery "
            "worker, the load generator) show whatever is selected."
        )
        .datasource(PROMETHEUS)
        .query("label_values(perflab_http_requests_total, service)")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
    )


def technique_variable() -> QueryVariable:
    return (
        QueryVariable("technique")
        .label("Technique")
        .description(
            "A technique (= its flag name) that has run in the selected service(s) since "
            "Prometheus started."
        )
        .datasource(PROMETHEUS)
        .query(
            f"label_values(perflab_technique_duration_seconds_count{{{SERVICE_MATCHER}}}, "
            "technique)"
        )
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )


def dashboard(uid: str, title: str, description: str) -> Dashboard:
    """A perflab dashboard: last 15 minutes, live refresh, flips drawn as annotations,
    a `$service` selector that every panel's query follows."""
    builder = (
        Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([FOLDER_TAG])
        .time("now-15m", "now")
        .refresh("5s")
        .timezone("browser")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .timepicker(TimePicker().refresh_intervals(["5s", "10s", "30s", "1m", "5m"]))
        .editable()
        .link(
            DashboardLink("perflab dashboards")
            .type(DashboardLinkType.DASHBOARDS)
            .tags([FOLDER_TAG])
            .as_dropdown(True)
            .keep_time(True)
            .include_vars(True)
        )
        .with_variable(service_variable())
    )
    for annotation in flag_annotations():
        builder = builder.annotation(annotation)
    return builder


def finish(builder: Dashboard) -> dict[str, Any]:
    """The JSON Grafana loads: stable panel ids and the annotation extras added."""
    data: dict[str, Any] = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    for annotation in data["annotations"]["list"]:
        annotation.update(ANNOTATION_EXTRAS.get(annotation["name"], {}))
    next_id = 1
    for panel in data.get("panels", []):
        panel["id"] = next_id
        next_id += 1
        for nested in panel.get("panels", []):
            nested["id"] = next_id
            next_id += 1
    return data
