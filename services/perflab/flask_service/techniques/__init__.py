"""The Flask technique registry: flag name -> technique, in catalog order.

Adding a technique is its catalog entry (`perflab.catalog`, with a "flask"
implementation) plus one module in this folder, listed below.
"""

from __future__ import annotations

from perflab.catalog import implemented_by
from perflab.flask_service.techniques import (
    async_views,
    background_offload,
    batch_insert,
    bounded_cache,
    compact_objects,
    connection_pool,
    db_index,
    fast_json,
    filter_in_database,
    gzip,
    http_caching,
    n_plus_one,
    pagination,
    resilience,
    response_cache,
    search_index,
    select_columns,
    streaming_export,
    telemetry_sampling,
)
from perflab.flask_service.techniques.base import SERVICE, Technique
from perflab.technique_metrics import start_timers

_MODULES = {
    t.name: t
    for t in (
        n_plus_one.TECHNIQUE,
        db_index.TECHNIQUE,
        response_cache.TECHNIQUE,
        resilience.TECHNIQUE,
        connection_pool.TECHNIQUE,
        select_columns.TECHNIQUE,
        batch_insert.TECHNIQUE,
        background_offload.TECHNIQUE,
        gzip.TECHNIQUE,
        fast_json.TECHNIQUE,
        streaming_export.TECHNIQUE,
        filter_in_database.TECHNIQUE,
        async_views.TECHNIQUE,
        http_caching.TECHNIQUE,
        pagination.TECHNIQUE,
        bounded_cache.TECHNIQUE,
        compact_objects.TECHNIQUE,
        telemetry_sampling.TECHNIQUE,
        search_index.TECHNIQUE,
    )
}
# In catalog order; a catalog entry that names this service but has no module fails here.
REGISTRY: dict[str, Technique] = {name: _MODULES[name] for name in implemented_by(SERVICE)}
# Every timer series exists before its first call (`start_timers` says why).
for _name, _technique in REGISTRY.items():
    start_timers(_name, cpu_bound=_technique.cpu_bound)
