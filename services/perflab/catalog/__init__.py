"""One description per technique: what every other part of the lab derives from.

Pure data, standard library only (the load generator imports it too). An entry says
what the technique demonstrates, how to call it, the metric and experiment figure that
prove it, the dashboard signals that show it, how the load generator exercises it and
what a right answer looks like, and which services implement it and how.

Derived from it: each service's `GET /techniques` and flag descriptions
(`flags/catalog.py`), the experiment's key figures (`experiment/figures.py`), the
Techniques dashboard's rows (`dashboards/techniques.py`), the load recipes and Locust
users (`loadgen/recipes.py`), `lab smoke` and the console.

Adding a technique is two files: its entry in one of the area modules below (add it
to that module's part of `TECHNIQUES`), and its module in each service that
implements it (`api/techniques/<name>.py` for FastAPI, `django_service/techniques/
<name>.py` for Django, `flask_service/techniques/<name>.py` for Flask, each registered
in its folder's `__init__.py`).
"""

from __future__ import annotations

from perflab.catalog import (
    algorithms,
    caching,
    concurrency,
    database,
    django_views,
    flask_views,
    observability,
    payload,
)
from perflab.catalog.spec import SERVICES, Implementation, Load, TechniqueSpec

TECHNIQUES: dict[str, TechniqueSpec] = {
    spec.name: spec
    for spec in (
        database.N_PLUS_ONE,
        database.DB_INDEX,
        caching.RESPONSE_CACHE,
        database.CONNECTION_POOL,
        database.PREPARED_STATEMENTS,
        database.SELECT_COLUMNS,
        database.PAGINATION,
        payload.GZIP,
        payload.FAST_JSON,
        payload.STREAMING_EXPORT,
        concurrency.BACKGROUND_OFFLOAD,
        database.BATCH_INSERT,
        concurrency.ASYNC_IO,
        concurrency.RESILIENCE,
        concurrency.CPU_OFFLOAD,
        caching.HTTP_CACHING,
        django_views.TEMPLATE_FRAGMENT_CACHE,
        django_views.CACHED_TEMPLATES,
        django_views.STATIC_FILES,
        django_views.PERSISTENT_CONNECTIONS,
        django_views.MIDDLEWARE_DIET,
        flask_views.FILTER_IN_DATABASE,
        flask_views.ASYNC_VIEWS,
        observability.TELEMETRY_SAMPLING,
        algorithms.BOUNDED_CACHE,
        algorithms.COMPACT_OBJECTS,
        algorithms.SEARCH_INDEX,
    )
}


def implemented_by(service: str) -> dict[str, TechniqueSpec]:
    """The techniques `service` implements, in catalog order."""
    return {name: spec for name, spec in TECHNIQUES.items() if service in spec.implementations}


def unmeasurable(names: list[str], service: str | None = None) -> str | None:
    """Why some of `names` are not techniques (or not `service`'s); None if all are."""
    if unknown := [name for name in names if name not in TECHNIQUES]:
        listed = ", ".join(repr(name) for name in unknown)
        return f"unknown flag {listed}; known: {', '.join(TECHNIQUES)}"
    if service is not None:
        mine = implemented_by(service)
        for name in names:
            if name not in mine:
                where = ", ".join(TECHNIQUES[name].implementations)
                return f"{name} is not implemented by {service} (it is by {where})"
    return None


__all__ = [
    "SERVICES", "TECHNIQUES", "Implementation", "Load", "TechniqueSpec", "implemented_by",
    "unmeasurable",
]  # fmt: skip
