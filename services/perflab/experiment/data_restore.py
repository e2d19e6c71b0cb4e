"""Brings the lab's database back to the seeded data before `lab experiment` runs
(unless `--keep-data`)."""

from __future__ import annotations

import asyncio

import asyncpg

from perflab.db import seed
from perflab.lab.components import LabContext


def restore_data() -> str:
    """Start from the seeded data, so that runs compare like with like: what earlier
    load added (orders, reviews, confirmations) is removed first. Says what it did."""

    async def restore(dsn: str) -> seed.Restored | None:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            return await seed.restore(conn)
        finally:
            await conn.close()

    try:
        restored = asyncio.run(restore(LabContext.load().service_settings().db.dsn))
    except Exception as exc:  # noqa: BLE001 - any failure: the run goes on and says why
        reason = (str(exc) or type(exc).__name__).splitlines()[0]
        return f"not restored to the seed ({reason}): earlier load's rows stay"
    if restored is None:
        return "no seed found in the lab's database: nothing restored"
    if not restored.total:
        return "as seeded"
    return (
        f"restored to the seed: removed {restored.orders:,} orders, {restored.reviews:,} "
        f"reviews and {restored.confirmations:,} confirmations earlier load had added"
    )
