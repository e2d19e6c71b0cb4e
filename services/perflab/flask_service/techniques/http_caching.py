"""HTTP caching with ETag / Cache-Control and 304 Not Modified, with Werkzeug's own tools.

Demonstrates: the API's book card (book, author, ~1.5 KB description, review summary).
The naive path always answers 200 with the whole body and no validators. The optimised
path answers the same body through Werkzeug's response API: `cache_control` (private,
max-age=60), `add_etag()` (a strong tag, the SHA-1 of the body) and
`make_conditional(request)`, which turns the answer into `304 Not Modified` with no
body when `If-None-Match` names the tag (weak comparison). The tag covers the body, so
a new review changes it; the server still reads and renders the card: what a 304 saves
is bytes on the wire and the client's parse, not the query.
Watch: `perflab_http_response_size_bytes{route="/books/{book_id}/card"}` and 3xx
responses (service=flask). Expect revalidations to cost 0 body bytes instead of ~1.8 KB.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from perflab.catalog import TECHNIQUES
from perflab.errors import NotFound
from perflab.flask_service import validation
from perflab.flask_service.models import Book, Review
from perflab.flask_service.resources import session
from perflab.flask_service.techniques.base import Technique, run
from perflab.shapes import book_with_author

NAME = "http_caching"
MAX_AGE_SECONDS = 60


def card(book_id: int) -> dict[str, Any]:
    """The card, in the API's shape; the rating rounded by Postgres, as the API does."""
    mine = Review.book_id == Book.id
    review_count = select(func.count(Review.id)).where(mine).correlate(Book).scalar_subquery()
    rating = (
        select(func.round(func.avg(Review.rating), 2)).where(mine).correlate(Book).scalar_subquery()
    )
    query = (
        select(Book, review_count, rating)
        .options(joinedload(Book.author))
        .where(Book.id == book_id)
    )
    row = session().execute(query).one_or_none()
    if row is None:
        raise NotFound(f"book {book_id} does not exist")
    book, count, average = row
    return {
        **book_with_author(book),
        "review_count": count,
        "rating": None if average is None else float(average),
    }


def naive(book_id: int) -> Response:
    return jsonify(card(book_id))


def optimised(book_id: int) -> Response:
    answer = jsonify(card(book_id))
    answer.cache_control.private = True
    answer.cache_control.max_age = MAX_AGE_SECONDS
    answer.add_etag()
    answer.make_conditional(request)  # 304 and no body when If-None-Match names the tag
    return answer


blueprint = Blueprint(NAME, __name__)


@blueprint.get("/books/<int:book_id>/card")
def book_card(book_id: int) -> ResponseReturnValue:
    return run(NAME, naive, optimised, validation.path_id("book_id", book_id))


TECHNIQUE = Technique(spec=TECHNIQUES[NAME], blueprint=blueprint)
