"""Reading `EXPLAIN (FORMAT JSON)` plans: the "count" proof of the SQL techniques."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import asyncpg


async def explain(conn: asyncpg.Connection, sql: str, *args: Any, analyze: bool = False) -> dict:
    """The root plan node of `sql` run with `args` (executed too when `analyze`)."""
    options = "ANALYZE, FORMAT JSON" if analyze else "FORMAT JSON"
    raw = await conn.fetchval(f"EXPLAIN ({options}) {sql}", *args)
    return json.loads(raw)[0]["Plan"]


def nodes(plan: dict) -> Iterator[dict]:
    """Every node of a plan, depth first."""
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)
