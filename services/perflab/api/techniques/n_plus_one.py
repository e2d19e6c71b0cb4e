"""N+1 queries vs a JOIN plus one batched IN query.

Demonstrates: listing books with their author and review count. The naive path runs
one query for the page, then one for each book's author and one for its review count
(1 + 2N statements, the ORM lazy-loading trap). The optimised path joins the author
in (select_related) and counts every review of the page in one `= ANY($1)` query
(prefetch_related): 2 statements whatever the page size.
Watch: `perflab_db_queries_per_request{route="/books"}` and the route's p95 latency
(Database and Techniques dashboards). Expect ~2N fewer queries and a much lower p95.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from perflab.api.deps import Flags, Pool
from perflab.api.techniques.base import Technique, run
from perflab.api.techniques.render import answer, render
from perflab.catalog import TECHNIQUES
from perflab.db.pool import acquire

NAME = "n_plus_one"


class Author(BaseModel):
    id: int
    name: str


class BookSummary(BaseModel):
    id: int
    title: str
    genre: str
    author: Author
    review_count: int


def _summary(
    book_id: int, title: str, genre: str, author: tuple[int, str], reviews: int
) -> dict[str, object]:
    # BookSummary's shape, rendered once (render.py says why not the model).
    return {
        "id": book_id,
        "title": title,
        "genre": genre,
        "author": {"id": author[0], "name": author[1]},
        "review_count": reviews,
    }


async def naive(pool: Pool, limit: int) -> bytes:
    async with acquire(pool) as conn:
        books = await conn.fetch(
            "SELECT id, title, genre, author_id FROM books ORDER BY id LIMIT $1", limit
        )
        result = []
        for book in books:
            author = await conn.fetchrow(
                "SELECT id, name FROM authors WHERE id = $1", book["author_id"]
            )
            reviews = await conn.fetchval(
                "SELECT count(*) FROM reviews WHERE book_id = $1", book["id"]
            )
            result.append(
                _summary(
                    book["id"], book["title"], book["genre"], (author["id"], author["name"]),
                    reviews,
                )
            )  # fmt: skip
        return render(result)


async def optimised(pool: Pool, limit: int) -> bytes:
    async with acquire(pool) as conn:
        books = await conn.fetch(
            """
            SELECT b.id, b.title, b.genre, a.id AS author_id, a.name AS author_name
            FROM books b JOIN authors a ON a.id = b.author_id
            ORDER BY b.id LIMIT $1
            """,
            limit,
        )
        counts = dict(
            await conn.fetch(
                """
                SELECT book_id, count(*) FROM reviews
                WHERE book_id = ANY($1::int[]) GROUP BY book_id
                """,
                [b["id"] for b in books],
            )
        )
    return render(
        [
            _summary(
                b["id"],
                b["title"],
                b["genre"],
                (b["author_id"], b["author_name"]),
                counts.get(b["id"], 0),
            )  # fmt: skip
            for b in books
        ]
    )


router = APIRouter(tags=["techniques"])


@router.get("/books", response_model=list[BookSummary])  # the shape, for the schema
async def list_books(
    pool: Pool,
    flags: Flags,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    return answer(await run(NAME, flags, naive, optimised, response, pool, limit), response)


TECHNIQUE = Technique(
    spec=TECHNIQUES[NAME],
    router=router,
)
