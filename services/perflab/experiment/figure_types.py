"""The kinds of figure an experiment compares, and what a server figure reads.

A client figure is computed from Locust's samples of an arm, a server figure from
the counters' deltas between the arm's two scrapes (`scrape.Delta`) within a
`Scope`, a sampled figure by a PromQL query over the arm's window. `Better` says
which direction is an improvement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from string import Template
from typing import Literal

from perflab.experiment import stats
from perflab.experiment.arm import ArmRun
from perflab.experiment.scrape import Delta

Better = Literal["lower", "higher"]


@dataclass(frozen=True)
class ClientFigure:
    name: str
    label: str
    unit: str
    better: Better
    values: Callable[[ArmRun], list[float]]
    statistic: stats.Statistic


# A server figure's value in one window, or None and why it has none.
Reading = tuple[float | None, str]


@dataclass(frozen=True)
class Scope:
    """What the figures of a window are about: the service under test, the technique's
    route and name, and the variant the arm runs (figures labelled by variant count
    that variant only, so a long request of the other one that ends in the window does
    not blur it)."""

    route: str
    technique: str
    variant: str = ""  # "naive" or "optimised"; "" counts both
    service: str = "fastapi"  # the `service` label of the series the figures read

    @property
    def mine(self) -> dict[str, str]:
        """The service's series."""
        return {"service": self.service}

    @property
    def timed(self) -> dict[str, str]:
        """The service's series of the technique's own timer, for the arm's variant."""
        return (
            self.mine
            | {"technique": self.technique}
            | ({"variant": self.variant} if self.variant else {})
        )

    @property
    def never_ran(self) -> str:
        return f"the {self.technique} path ({self.variant or 'either variant'}) never ran"

    @property
    def routed(self) -> dict[str, str]:
        """The service's series of the technique's route."""
        return {"service": self.service, "route": self.route}


@dataclass(frozen=True)
class ServerFigure:
    name: str
    label: str
    unit: str
    better: Better
    read: Callable[[Delta, Scope], Reading]


@dataclass(frozen=True)
class SampledFigure:
    """A peak or maximum of a gauge: Prometheus samples it over the window."""

    name: str
    label: str
    unit: str
    better: Better
    # PromQL evaluated at the window's end; `$range` is the window less one scrape
    # interval, so every sample it reads was taken inside the window; `$service` the
    # `service` label of the service under test.
    query: str

    def render(self, range_seconds: int, service: str = "fastapi") -> str:
        return Template(self.query).substitute(range=range_seconds, service=service)


def improvement(ratio: float | None, better: Better) -> float | None:
    """B/A expressed as "times better": 5.0 means five times better with the flag on."""
    if ratio is None or ratio == 0:
        return None
    return 1 / ratio if better == "lower" else ratio
