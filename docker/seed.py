"""The Docker stack's one-shot seed job: schema and bookshop data (`perflab.db.seed`).

The scale comes from `PERFLAB_LAB__SEED_SCALE`, as for `lab up` (default 1.0: 20k
books, 500k orders). A database already seeded at that scale is left as it is, so the
job is cheap on every later `docker compose up`. The API and the worker start only
after it exits 0: the API's startup changes the schema and must not race the seed.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import asyncpg

from perflab.db.seed import seed
from perflab.settings import get_settings


async def run(scale: float) -> bool:
    conn = await asyncpg.connect(get_settings().db.dsn)
    try:
        return await seed(conn, scale)
    finally:
        await conn.close()


def main() -> int:
    scale = float(os.environ.get("PERFLAB_LAB__SEED_SCALE", "1.0"))
    began = time.perf_counter()
    seeded = asyncio.run(run(scale))
    took = time.perf_counter() - began
    what = "seeded" if seeded else "already seeded"
    sys.stdout.write(f"seed: {what} at scale {scale} in {took:.1f} s\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
