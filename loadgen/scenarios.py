"""Scenario names -> Locust user classes (standard library only, for `lab load`).

A scenario is one of the names below, or a technique name: its own user class when
the lab ships one, otherwise EveryTechniqueUser narrowed to it (`--technique`).
"""

from __future__ import annotations

from loadgen.recipes import TECHNIQUES

SCENARIOS: dict[str, tuple[str, ...]] = {
    "mixed": ("MixedBrowse",),
    "export": ("ExportUser",),
    "writer": ("WriterUser",),
    "techniques": ("EveryTechniqueUser",),
    "all": ("MixedBrowse", "ExportUser", "WriterUser"),
    "capacity": ("CapacityUser",),
}
DESCRIPTIONS: dict[str, str] = {
    "mixed": "shoppers: lists, catalog, leaderboard, book pages, reviews, an order now and then",
    "export": "back office: CSV export, JSON dump, sales report (big payloads)",
    "writer": "writes: bulk order imports and order confirmations",
    "techniques": "every technique endpoint /techniques lists, in turn",
    "all": "mixed + export + writer at their weights (10:1:2)",
    "capacity": "GET /healthz with no think time: the load generator's own ceiling",
}


def class_name(technique: str) -> str:
    """`n_plus_one` -> `NPlusOneUser` (the name to pass on Locust's command line)."""
    return "".join(part.capitalize() for part in technique.split("_")) + "User"


def locust_args(scenario: str) -> list[str]:
    """The user classes (and options) that run `scenario` (validated by the caller)."""
    if scenario in SCENARIOS:
        return list(SCENARIOS[scenario])
    if scenario in TECHNIQUES:
        return [class_name(scenario)]
    return ["EveryTechniqueUser", "--technique", scenario]
