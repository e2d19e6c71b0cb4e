"""The catalog is the one description of every technique; each consumer derives from it."""

from __future__ import annotations

import re

import pytest
from loadgen import recipes

from perflab.api.techniques import REGISTRY
from perflab.catalog import SERVICES, TECHNIQUES, implemented_by
from perflab.dashboards.signals import SIGNALS
from perflab.experiment.figures import FIGURE_NAMES, KEY_FIGURES
from perflab.flags.catalog import FLAGS


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
