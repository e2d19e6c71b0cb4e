"""The technique registry: flag name -> technique, in catalog order.

Adding a technique is its catalog entry (`perflab.catalog`) plus one module in this
folder, listed below.
"""

from __future__ import annotations

from perflab.api.techniques import (
    async_io,
    background_offload,
    batch_insert,
    bounded_cache,
    compact_objects,
    connection_pool,
    cpu_offload,
    db_index,
    fast_json,
    gzip,
    http_caching,
    n_plus_one,
    pagination,
    prepared_statements,
    resilience,
    response_cache,
    search_index,
    select_columns,
    streaming_export,
    telemetry_sampling,
)
from perflab.api.techniques.base import SERVICE, Technique
from perflab.catalog import implemented_by
from perflab.technique_metrics import start_timers

_MODULES = {
    t.name: t
    for t in (
        n_plus_one.TECHNIQUE,
        db_index.TECHNIQUE,
        response_cache.TECHNIQUE,
        connection_pool.TECHNIQUE,
        prepared_statements.TECHNIQUE,
        select_columns.TECHNIQUE,
        pagination.TECHNIQUE,
        background_offload.TECHNIQUE,
        batch_insert.TECHNIQUE,
        async_io.TECHNIQUE,
        resilience.TECHNIQUE,
        cpu_offload.TECHNIQUE,
        gzip.TECHNIQUE,
        fast_json.TECHNIQUE,
        http_caching.TECHNIQUE,
        streaming_export.TECHNIQUE,
        telemetry_sampling.TECHNIQUE,
        bounded_cache.TECHNIQUE,
        compact_objects.TECHNIQUE,
        search_index.TECHNIQUE,
    )
}
# In catalog order; a catalog entry that names this service but has no module fails here.
REGISTRY: dict[str, Technique] = {name: _MODULES[name] for name in implemented_by(SERVICE)}
# Every timer series exists before its first call (`start_timers` says why).
for _name, _technique in REGISTRY.items():
    start_timers(_name, cpu_bound=_technique.cpu_bound)
