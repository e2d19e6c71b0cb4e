"""Schema and seed data: a bookshop sized so a missing index is clearly visible.

Rows are generated deterministically in Python and loaded with COPY in one
transaction, so a half-seeded database is never left behind. `scale=1.0` gives
2k authors, 20k books (~1.5 KB description each), 20k users, 200k reviews and
500k orders, seeded in a few seconds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources

import asyncpg

GENRES = (
    "fantasy", "science-fiction", "mystery", "thriller", "romance", "history",
    "biography", "poetry", "philosophy", "travel", "cooking", "programming",
)  # fmt: skip
COUNTRIES = ("GB", "US", "FR", "DE", "NG", "IN", "JP", "BR", "IT", "ES", "SE", "AR")
STATUSES = ("paid", "shipped", "delivered", "cancelled")
_WORDS = (
    "amber river quiet engine lantern harbor silver orchard winter signal meadow "
    "archive compass ember falcon garden horizon island journey kettle library marble "
    "northern ocean pepper quartz raven saddle thunder umbrella velvet willow yarrow zephyr"
).split()
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SeedCounts:
    authors: int
    books: int
    users: int
    reviews: int
    orders: int

    @classmethod
    def for_scale(cls, scale: float) -> SeedCounts:
        def n(base: int) -> int:
            return max(10, int(base * scale))

        return cls(n(2_000), n(20_000), n(20_000), n(200_000), n(500_000))


def schema_sql() -> str:
    return resources.files("perflab.db").joinpath("schema.sql").read_text()


async def apply_schema(conn: asyncpg.Connection) -> None:
    await conn.execute(schema_sql())


def _paragraphs(rng: random.Random, count: int, words: int) -> list[str]:
    return [" ".join(rng.choices(_WORDS, k=words)).capitalize() + "." for _ in range(count)]


async def seed(conn: asyncpg.Connection, scale: float = 1.0, *, force: bool = False) -> bool:
    """Seed the database unless it already holds data of this scale. True if seeded."""
    await apply_schema(conn)
    existing = await conn.fetchval("SELECT scale FROM seed_info")
    if existing == scale and not force:
        return False
    counts = SeedCounts.for_scale(scale)
    rng = random.Random(42)
    texts = _paragraphs(rng, 64, 220)  # ~1.5 KB each
    bodies = _paragraphs(rng, 64, 18)
    async with conn.transaction():
        await conn.execute(
            "TRUNCATE order_confirmations, orders, reviews, users, books, authors, seed_info"
        )
        await conn.copy_records_to_table(
            "authors",
            records=[
                (i, f"Author {i}", COUNTRIES[i % len(COUNTRIES)], rng.choice(bodies))
                for i in range(1, counts.authors + 1)
            ],
        )
        await conn.copy_records_to_table(
            "books",
            records=[
                (
                    i,
                    rng.randint(1, counts.authors),
                    f"{rng.choice(_WORDS).title()} {rng.choice(_WORDS).title()} {i}",
                    f"978-{i:09d}",
                    GENRES[i % len(GENRES)],
                    rng.randint(1950, 2025),
                    rng.randint(499, 4999),
                    texts[i % len(texts)],
                )
                for i in range(1, counts.books + 1)
            ],
        )
        await conn.copy_records_to_table(
            "users",
            records=[
                (i, f"user{i}@example.test", f"User {i}", _EPOCH + timedelta(hours=i))
                for i in range(1, counts.users + 1)
            ],
        )
        await conn.copy_records_to_table(
            "reviews",
            records=[
                (
                    i,
                    rng.randint(1, counts.books),
                    rng.randint(1, counts.users),
                    rng.randint(1, 5),
                    bodies[i % len(bodies)],
                    _EPOCH + timedelta(minutes=i),
                )
                for i in range(1, counts.reviews + 1)
            ],
        )
        await conn.copy_records_to_table(
            "orders",
            records=[
                (
                    i,
                    rng.randint(1, counts.users),
                    rng.randint(1, counts.books),
                    q := rng.randint(1, 3),
                    q * rng.randint(499, 4999),
                    STATUSES[i % len(STATUSES)],
                    _EPOCH + timedelta(seconds=30 * i),
                )
                for i in range(1, counts.orders + 1)
            ],
        )
        await conn.execute("SELECT setval('orders_id_seq', $1)", counts.orders)
        await conn.execute("SELECT setval('reviews_id_seq', $1)", counts.reviews)
        await conn.execute("INSERT INTO seed_info (scale) VALUES ($1)", scale)
    await conn.execute("ANALYZE")
    return True


@dataclass(frozen=True)
class Restored:
    """Rows that load had added since the seed, removed by `restore`."""

    orders: int
    reviews: int
    confirmations: int

    @property
    def total(self) -> int:
        return self.orders + self.reviews + self.confirmations


def _deleted(status: str) -> int:
    return int(status.rsplit(" ", 1)[-1])  # asyncpg's command tag: "DELETE 123"


async def restore(conn: asyncpg.Connection) -> Restored | None:
    """Put the data back as the seed left it: every order and review past the seeded ids
    (the writes' techniques add them, for the load's 200 users and books) and every
    order confirmation (the seed makes none). Seeded rows are never updated, so what
    remains is the seed. None when the database holds no seed.

    Without it each run's reads meet a bigger dataset (users 1-200 reached ~300 orders
    each after a few `--all` runs, against ~25 seeded), so runs drift apart."""
    if await conn.fetchval("SELECT to_regclass('seed_info')") is None:
        return None  # not even the schema
    scale = await conn.fetchval("SELECT scale FROM seed_info")
    if scale is None:
        return None
    counts = SeedCounts.for_scale(scale)
    async with conn.transaction():
        confirmations = _deleted(await conn.execute("DELETE FROM order_confirmations"))
        orders = _deleted(await conn.execute("DELETE FROM orders WHERE id > $1", counts.orders))
        reviews = _deleted(await conn.execute("DELETE FROM reviews WHERE id > $1", counts.reviews))
    restored = Restored(orders, reviews, confirmations)
    if restored.total:
        # Dead rows would still be scanned, and the planner's counts be stale.
        await conn.execute("VACUUM (ANALYZE) orders, reviews, order_confirmations")
    return restored
