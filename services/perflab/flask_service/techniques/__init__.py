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
    connection_pool,
    db_index,
    filter_in_database,
    gzip,
    http_caching,
    n_plus_one,
    pagination,
    response_cache,
    select_columns,
    streaming_export,
)
from perflab.flask_service.techniques.base import SERVICE, Technique

_MODULES = {
    t.name: t
    for t in (
        n_plus_one.TECHNIQUE,
        db_index.TECHNIQUE,
        response_cache.TECHNIQUE,
        connection_pool.TECHNIQUE,
        select_columns.TECHNIQUE,
        batch_insert.TECHNIQUE,
        background_offload.TECHNIQUE,
        gzip.TECHNIQUE,
        streaming_export.TECHNIQUE,
        filter_in_database.TECHNIQUE,
        async_views.TECHNIQUE,
        http_caching.TECHNIQUE,
        pagination.TECHNIQUE,
    )
}
# In catalog order; a catalog entry that names this service but has no module fails here.
REGISTRY: dict[str, Technique] = {name: _MODULES[name] for name in implemented_by(SERVICE)}
