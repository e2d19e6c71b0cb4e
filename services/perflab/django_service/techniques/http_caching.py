"""HTTP caching with ETag / Cache-Control and 304 Not Modified, with Django's own tools.

Demonstrates: the API's book card (book, author, ~1.5 KB description, review summary).
The naive view always answers 200 with the whole body and no validators. The optimised
view is the very same view under two stock decorators: `conditional_page`
(`ConditionalGetMiddleware` for one view: a strong ETag, the MD5 of the body, and
`304 Not Modified` with no body when `If-None-Match` names it, weak comparison) and
`cache_control(private=True, max_age=60)`. The tag covers the rendered body, so a new
review changes it. The server still reads and renders the card: what a 304 saves is
bytes on the wire and the client's parse, not the query (`condition(etag_func=...)`
could skip the view, but only the query knows the review figures the tag must cover).
With the gzip flag on, Django's `GZipMiddleware` weakens the tag (`W/"..."`), which
still matches.
Watch: `perflab_http_response_size_bytes{route="/books/{book_id}/card"}` and 3xx
responses (service=django). Expect revalidations to cost 0 body bytes instead of ~1.8 KB.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, DecimalField
from django.db.models.functions import Round
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.urls import path
from django.views.decorators.cache import cache_control
from django.views.decorators.http import conditional_page, require_GET

from perflab.catalog import TECHNIQUES
from perflab.django_service.shop.models import Book
from perflab.django_service.techniques.base import Technique, answer, check_id, run
from perflab.errors import NotFound
from perflab.shapes import book_with_author

NAME = "http_caching"


def card(book_id: int) -> dict[str, Any]:
    """The card, in the API's shape; the rating rounded by Postgres, as the API does."""
    found = (
        Book.objects.select_related("author")
        .annotate(
            review_count=Count("reviews"),
            rating=Round(Avg("reviews__rating", output_field=DecimalField()), 2),
        )
        .filter(id=book_id)
        .first()
    )
    if found is None:
        raise NotFound(f"book {book_id} does not exist")
    rating: Decimal | None = found.rating
    return {
        **book_with_author(found),
        "review_count": found.review_count,
        "rating": None if rating is None else float(rating),
    }


def naive(_request: HttpRequest, book_id: int) -> HttpResponseBase:
    return JsonResponse(card(book_id))


# The same view, its answer validated: ETag, Cache-Control, 304 when the tag matches.
optimised = conditional_page(cache_control(private=True, max_age=60)(naive))


@require_GET
def book_card(request: HttpRequest, book_id: int) -> HttpResponseBase:
    variant, response = run(NAME, naive, optimised, request, check_id(book_id, "book_id"))
    return answer(response, variant)


TECHNIQUE = Technique(TECHNIQUES[NAME], [path("books/<int:book_id>/card", book_card)])
