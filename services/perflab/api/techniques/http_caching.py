"""HTTP caching with ETag / Cache-Control and 304 Not Modified vs a full body each time.

Demonstrates: a book card (book, author, ~1.5 KB description, review summary). The
naive path always answers 200 with the whole body and no validators. The optimised
path sends a strong `ETag` (a hash of the serialised card) and
`Cache-Control: private, max-age=60`, and answers `304 Not Modified` with no body when
the client's `If-None-Match` names the current tag (`*`, lists and weak tags as
RFC 9110 §13.1.2 says: weak comparison). The tag hashes the representation rather than
a version column because the card also shows review figures that change without
touching `books`; hashing ~2 KB costs microseconds. The server still reads the card:
what a 304 saves is bytes on the wire and the client's parse, not the query.
Watch: `perflab_http_response_size_bytes{route="/books/{book_id}/card"}` and
`perflab_http_requests_total{status_class="3xx"}` (Techniques dashboard). Expect
revalidations to cost 0 body bytes instead of ~1.8 KB (~650 B gzipped).
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated

from fastapi import APIRouter, Header, Path, Response
from pydantic import BaseModel

from perflab.api.deps import Flags, Pool
from perflab.api.responses import NOT_FOUND, NOT_MODIFIED
from perflab.api.techniques.base import VARIANT_HEADER, Technique, run
from perflab.catalog import TECHNIQUES
from perflab.db.pool import acquire
from perflab.errors import NotFound

NAME = "http_caching"
MEDIA_TYPE = "application/json"
CACHE_CONTROL = "private, max-age=60"
_ENTITY_TAG = re.compile(r'(?:W/)?"([^"]*)"')


class Author(BaseModel):
    id: int
    name: str
    country: str


class BookCard(BaseModel):
    id: int
    title: str
    isbn: str
    genre: str
    published_year: int
    price_cents: int
    description: str
    author: Author
    review_count: int
    rating: float | None


_CARD_SQL = """
SELECT b.id, b.title, b.isbn, b.genre, b.published_year, b.price_cents, b.description,
       a.id AS author_id, a.name AS author_name, a.country AS author_country,
       r.review_count, r.rating
FROM books b
JOIN authors a ON a.id = b.author_id
CROSS JOIN LATERAL (
    SELECT count(*) AS review_count, round(avg(rating), 2)::float8 AS rating
    FROM reviews WHERE book_id = b.id
) r
WHERE b.id = $1
"""


async def _card_body(pool: Pool, book_id: int) -> bytes:
    async with acquire(pool) as conn:
        row = await conn.fetchrow(_CARD_SQL, book_id)
    if row is None:
        raise NotFound(f"book {book_id} does not exist")
    card = BookCard(
        **{k: row[k] for k in BookCard.model_fields if k != "author"},
        author=Author(id=row["author_id"], name=row["author_name"], country=row["author_country"]),
    )
    return card.model_dump_json().encode()


def entity_tag(body: bytes) -> str:
    """A strong validator: equal tags mean byte-identical representations."""
    return f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def etag_matches(if_none_match: str, etag: str) -> bool:
    """True when `If-None-Match` names `etag` (weak comparison, RFC 9110 §13.1.2)."""
    if if_none_match.strip() == "*":
        return True  # the representation exists, and `*` matches any
    current = _ENTITY_TAG.fullmatch(etag)
    opaque = current.group(1) if current else etag
    return any(m.group(1) == opaque for m in _ENTITY_TAG.finditer(if_none_match))


async def naive(pool: Pool, book_id: int, _if_none_match: str | None) -> Response:
    return Response(await _card_body(pool, book_id), media_type=MEDIA_TYPE)


async def optimised(pool: Pool, book_id: int, if_none_match: str | None) -> Response:
    body = await _card_body(pool, book_id)
    etag = entity_tag(body)
    validators = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if if_none_match is not None and etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=validators)
    return Response(body, media_type=MEDIA_TYPE, headers=validators)


router = APIRouter(tags=["techniques"])


@router.get(
    "/books/{book_id}/card",
    response_model=BookCard,
    responses={**NOT_FOUND, **NOT_MODIFIED},
)
async def book_card(
    pool: Pool,
    flags: Flags,
    book_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    # run() marks the variant on `tag`; the Response we return is built by the variant.
    tag = Response()
    answer = await run(NAME, flags, naive, optimised, tag, pool, book_id, if_none_match)
    answer.headers[VARIANT_HEADER] = tag.headers[VARIANT_HEADER]
    return answer


TECHNIQUE = Technique(
    spec=TECHNIQUES[NAME],
    router=router,
)
