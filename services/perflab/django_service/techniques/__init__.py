"""The Django service's technique registry: flag name -> technique, in catalog order.

Adding a technique is its catalog entry (`perflab.catalog`) plus one module in this
folder, listed below.
"""

from __future__ import annotations

from perflab.catalog import implemented_by
from perflab.django_service.techniques import (
    background_offload,
    batch_insert,
    bounded_cache,
    cached_templates,
    compact_objects,
    db_index,
    fast_json,
    gzip,
    http_caching,
    middleware_diet,
    n_plus_one,
    pagination,
    persistent_connections,
    prepared_statements,
    resilience,
    response_cache,
    search_index,
    select_columns,
    static_files,
    streaming_export,
    telemetry_sampling,
    template_fragment_cache,
)
from perflab.django_service.techniques.base import SERVICE, Technique
from perflab.technique_metrics import start_timers

_MODULES = {
    t.name: t
    for t in (
        n_plus_one.TECHNIQUE,
        db_index.TECHNIQUE,
        response_cache.TECHNIQUE,
        resilience.TECHNIQUE,
        select_columns.TECHNIQUE,
        pagination.TECHNIQUE,
        gzip.TECHNIQUE,
        fast_json.TECHNIQUE,
        streaming_export.TECHNIQUE,
        background_offload.TECHNIQUE,
        batch_insert.TECHNIQUE,
        http_caching.TECHNIQUE,
        template_fragment_cache.TECHNIQUE,
        cached_templates.TECHNIQUE,
        static_files.TECHNIQUE,
        persistent_connections.TECHNIQUE,
        middleware_diet.TECHNIQUE,
        bounded_cache.TECHNIQUE,
        compact_objects.TECHNIQUE,
        prepared_statements.TECHNIQUE,
        telemetry_sampling.TECHNIQUE,
        search_index.TECHNIQUE,
    )
}
# In catalog order; a catalog entry that names this service but has no module fails here.
REGISTRY: dict[str, Technique] = {name: _MODULES[name] for name in implemented_by(SERVICE)}
# Every timer series exists before its first call (`start_timers` says why).
for _name, _technique in REGISTRY.items():
    start_timers(_name, cpu_bound=_technique.cpu_bound)
