"""The technique registry: flag name -> technique.

Adding a technique is one module in this folder and one line below.
"""

from __future__ import annotations

from perflab.api.techniques import (
    async_io,
    background_offload,
    batch_insert,
    connection_pool,
    cpu_offload,
    db_index,
    fast_json,
    gzip,
    http_caching,
    n_plus_one,
    pagination,
    prepared_statements,
    response_cache,
    select_columns,
    streaming_export,
)
from perflab.api.techniques.base import Technique

REGISTRY: dict[str, Technique] = {
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
        cpu_offload.TECHNIQUE,
        gzip.TECHNIQUE,
        fast_json.TECHNIQUE,
        http_caching.TECHNIQUE,
        streaming_export.TECHNIQUE,
    )
}
