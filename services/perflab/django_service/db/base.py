"""Django's postgresql backend, counting the connections it opens (`ENGINE` of settings).

The documented way to extend a backend (as django-prometheus does): subclass its
`DatabaseWrapper` and override `get_new_connection`, the one call that connects.
Through the `default` alias's psycopg pool that call borrows a connection: its wait is
`perflab_db_pool_acquire_seconds` and the pool's own statistics say how many new
Postgres connections it opened (`kind="pool"`). Without a pool it is a real connect:
`kind="direct"` for `CONN_MAX_AGE=0` (one per request), `kind="persistent"` for an
alias that keeps it (persistent_connections).
"""

from __future__ import annotations

import time
from typing import Any

from django.db.backends.postgresql import base

from perflab.telemetry.metrics import DB_CONNECTIONS_OPENED, DB_POOL_ACQUIRE

for _kind in ("pool", "direct", "persistent"):
    DB_CONNECTIONS_OPENED.labels(kind=_kind)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        started = time.perf_counter()
        connection = super().get_new_connection(conn_params)
        pool = self.pool
        if pool is not None:
            DB_POOL_ACQUIRE.observe(time.perf_counter() - started)
            opened = pool.pop_stats().get("connections_num", 0)
            if opened:
                DB_CONNECTIONS_OPENED.labels(kind="pool").inc(opened)
        else:
            kind = "direct" if self.settings_dict["CONN_MAX_AGE"] == 0 else "persistent"
            DB_CONNECTIONS_OPENED.labels(kind=kind).inc()
        return connection
