"""The catalog is the one description of every technique; each consumer derives from it."""

from __future__ import annotations

import random
import re

import pytest
from loadgen import recipes

from perflab.api.techniques import REGISTRY
from perflab.catalog import SERVICES, TECHNIQUES, implemented_by
from perflab.console.signals import lab_metric, signal_for
from perflab.dashboards.signals import SIGNALS
from perflab.experiment.figures import FIGURE_NAMES, KEY_FIGURES
from perflab.flags.catalog import FLAGS
from perflab.upstream import UpstreamFault
from tests.support import django_app


def test_every_entry_is_complete_and_names_what_exists():
    for name, spec in TECHNIQUES.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        assert spec.method in {"GET", "POST", "PUT", "DELETE"}
        assert spec.path.startswith("/")
        assert spec.summary and spec.lesson and spec.metric and spec.expected
        assert spec.key_figure in FIGURE_NAMES, f"{name}: unknown figure {spec.key_figure}"
        assert spec.promise is None or spec.promise > 1
        assert spec.signals and set(spec.signals) <= set(SIGNALS), name
        assert spec.load.body is None or spec.load.body in recipes.BODIES, name
        assert spec.implementations and set(spec.implementations) <= set(SERVICES), name
        for impl in spec.implementations.values():
            assert impl.naive and impl.optimised and impl.naive != impl.optimised
        if spec.experiment_fault is not None:  # a body PUT /upstream/fault accepts
            assert UpstreamFault.model_validate(spec.experiment_fault) != UpstreamFault()


def test_flags_figures_and_recipes_are_derived_from_it():
    assert list(FLAGS) == list(TECHNIQUES)
    assert FLAGS["n_plus_one"] == TECHNIQUES["n_plus_one"].lesson
    assert KEY_FIGURES == {n: (s.key_figure, s.promise) for n, s in TECHNIQUES.items()}
    assert recipes.TECHNIQUES == tuple(TECHNIQUES)


def test_the_fastapi_registry_implements_exactly_its_catalog_entries():
    assert list(REGISTRY) == list(implemented_by("fastapi"))


@pytest.mark.parametrize("name", list(implemented_by("fastapi")))
def test_a_fastapi_technique_serves_the_catalog_route(name: str):
    technique = REGISTRY[name]
    spec = TECHNIQUES[name]
    served = {
        (method, getattr(route, "path_format", ""))
        for route in technique.router.routes
        for method in getattr(route, "methods", ())
    }
    assert (spec.method, spec.path) in served
    described = technique.describe()
    assert described["services"] == list(spec.services)
    assert described["naive"] == spec.implementations["fastapi"].naive


def _django_registry() -> dict:
    django_app.setup()
    from perflab.django_service.techniques import REGISTRY as DJANGO

    return DJANGO


def test_the_django_registry_implements_exactly_its_catalog_entries():
    assert list(_django_registry()) == list(implemented_by("django"))


@pytest.mark.parametrize("name", list(implemented_by("django")))
def test_a_django_technique_serves_the_catalog_route(name: str):
    from django.urls import resolve

    from perflab.django_service.middleware.telemetry import route_template

    technique = _django_registry()[name]
    spec = TECHNIQUES[name]
    match = resolve(recipes.fill_path(spec.path, random.Random(1)))
    assert route_template(match.route) == spec.path
    assert match.func in [pattern.callback for pattern in technique.urlpatterns]
    described = technique.describe()
    assert described["services"] == list(spec.services)
    assert described["naive"] == spec.implementations["django"].naive


def test_shared_techniques_keep_one_route_in_every_service():
    shared = {n for n in implemented_by("django") if n in implemented_by("fastapi")}
    assert shared >= {"n_plus_one", "db_index", "response_cache", "gzip", "select_columns",
                      "streaming_export", "batch_insert", "background_offload"}  # fmt: skip


def test_every_technique_has_a_signal_the_console_can_chart():
    for name, spec in TECHNIQUES.items():
        described = spec.describe(spec.services[0])
        signal = signal_for(described, "api", "counter")
        assert signal is not None, name
        if lab_metric(described) is None:  # prose: charted by its first dashboard signal
            assert signal.label == SIGNALS[spec.signals[0]].title, name
