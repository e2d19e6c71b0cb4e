"""The shape of one technique's description (pure data, standard library only)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

SERVICES = ("fastapi", "django", "flask")
"""Every service of the lab, by the name that labels its series and its answers."""

Better = Literal["lower", "higher"]


@dataclass(frozen=True)
class Load:
    """How the load generator calls the endpoint, and what a right answer looks like."""

    # Integer query parameters, each drawn uniformly from [low, high].
    query: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    # String query parameters, each drawn uniformly from these values.
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # The name of a body maker in loadgen/recipes.py (e.g. "bulk_orders"), or None.
    body: str | None = None
    statuses: tuple[int, ...] = (200,)
    # A dependency whose 503 naming it is a designed answer, not a failure (resilience
    # fails fast with it when the upstream misses its deadline).
    fails_fast_on: str | None = None
    kind: Literal["json", "csv", "html", "any"] = "json"
    # JSON answers: an object with these keys, or a non-empty list of such objects.
    shape: Literal["object", "list"] = "object"
    keys: tuple[str, ...] = ()
    # Narrower id ranges for this endpoint's path parameters (e.g. a hot set of books).
    ids: Mapping[str, int] = field(default_factory=dict)
    # HTML pages: also fetch the CSS/JS they link, as a browser would (its own cache,
    # honouring Cache-Control, revalidating with If-None-Match / If-Modified-Since).
    assets: bool = False


@dataclass(frozen=True)
class Implementation:
    """What the naive and the optimised path do in one service's framework."""

    naive: str
    optimised: str


@dataclass(frozen=True)
class TechniqueSpec:
    name: str  # also its flag's name
    method: str
    path: str  # the same route template in every service that implements it
    summary: str  # what the endpoint answers
    lesson: str  # what turning the flag on does, in one sentence (the flag's description)
    metric: str  # the metric (and panel) that shows the difference
    expected: str  # the change a user should expect when the flag goes on
    key_figure: str  # the experiment figure that says whether it paid off
    promise: float | None  # the factor the lab promises on that figure, if any
    signals: tuple[str, ...]  # dashboard signals (dashboards/signals.py) that show it
    load: Load
    implementations: Mapping[str, Implementation]  # service -> how it looks there
    # The simulated upstream's faults (the API's `PUT /upstream/fault` body) that an
    # experiment sets for all its arms and puts back after: a lesson that shows only
    # under a fault is measured under it. None: the experiment leaves the knob alone.
    experiment_fault: Mapping[str, float] | None = None

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(s for s in SERVICES if s in self.implementations)

    def describe(self, service: str) -> dict[str, Any]:
        """The `/techniques` item of `service` (which must implement it)."""
        impl = self.implementations[service]
        return {
            "name": self.name,
            "flag": self.name,
            "method": self.method,
            "path": self.path,
            "summary": self.summary,
            "lesson": self.lesson,
            "naive": impl.naive,
            "optimised": impl.optimised,
            "metric": self.metric,
            "expected": self.expected,
            "key_figure": self.key_figure,
            "promise": self.promise,
            "signals": list(self.signals),
            "services": list(self.services),
            "experiment_fault": dict(self.experiment_fault) if self.experiment_fault else None,
        }
