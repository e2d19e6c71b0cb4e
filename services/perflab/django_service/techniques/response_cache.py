"""An expensive aggregate kept in Django's cache framework (Redis) vs computed each time.

Demonstrates: `GET /genres/top-rated`, the ten best-rated books of every genre over
every review. The naive path runs the ORM aggregate (a grouped average, ranked per
genre by a window function) on each request. The optimised path is the guides'
pattern: `cache.get(key)`; on a miss compute, `cache.set(key, value, TTL)`. The cache
is `django.core.cache.backends.redis.RedisCache` on the lab's Redis. A Redis error is
counted and answered by computing, so an outage costs latency, never correctness.
Writes invalidate: `POST /books/{book_id}/reviews` stores a review and
`cache.delete`s the entry. (`cache_page` would cache the whole response per URL;
the data cache is used here because a write can delete it by name.)
Watch: `perflab_cache_requests_total{cache="top_rated"}` (service=django): ~100% hits
under steady reads, no SQL on a hit.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError
from django.db.models import Avg, Count, F, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from redis.exceptions import RedisError

from perflab.catalog import TECHNIQUES
from perflab.django_service.shop.models import Book, Customer, Review
from perflab.django_service.techniques.base import (
    Technique,
    check_id,
    json_answer,
    json_body,
    run,
    storable_text,
)
from perflab.errors import BadRequest, NotFound
from perflab.telemetry.metrics import CACHE_REQUESTS

NAME = "response_cache"
CACHE = "top_rated"
# Bump the version when the answer's shape changes, so old entries are never read.
CACHE_KEY = "top_rated:v1"
TTL_SECONDS = 300
TOP_N = 10
MIN_REVIEWS = 3  # so one lucky 5-star review does not top a genre

log = logging.getLogger(__name__)
for _result in ("hit", "miss", "error"):  # series exist before the first look-up
    CACHE_REQUESTS.labels(cache=CACHE, result=_result)


def compute() -> dict[str, Any]:
    ranked = (
        Book.objects.annotate(average=Avg("reviews__rating"), review_count=Count("reviews"))
        .filter(review_count__gte=MIN_REVIEWS)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=F("genre"),
                order_by=[F("average").desc(), F("review_count").desc(), F("id").asc()],
            )
        )
        .filter(rank__lte=TOP_N)
        .order_by("genre", "rank")
        .values("genre", "id", "title", "author__name", "average", "review_count")
    )
    genres: dict[str, list[dict[str, Any]]] = {}
    for row in ranked:
        genres.setdefault(row["genre"], []).append(
            {
                "id": row["id"],
                "title": row["title"],
                "author": row["author__name"],
                "average_rating": round(float(row["average"]), 3),
                "review_count": row["review_count"],
            }
        )
    return {"genres": [{"genre": g, "books": b} for g, b in genres.items()]}


def naive() -> dict[str, Any]:
    return compute()


def optimised() -> dict[str, Any]:
    try:
        cached = cache.get(CACHE_KEY)
    except RedisError as exc:
        CACHE_REQUESTS.labels(cache=CACHE, result="error").inc()
        log.warning("top-rated cache unreadable, computing instead: %s", exc)
        return compute()  # no write-back: Redis is failing right now
    if cached is not None:
        CACHE_REQUESTS.labels(cache=CACHE, result="hit").inc()
        value: dict[str, Any] = cached
        return value
    CACHE_REQUESTS.labels(cache=CACHE, result="miss").inc()
    top = compute()
    try:
        cache.set(CACHE_KEY, top, TTL_SECONDS)
    except RedisError as exc:
        log.warning("top-rated cache not stored: %s", exc)
    return top


def invalidate() -> None:
    """Drop the cached leaderboard; done on every write whatever the flag says."""
    try:
        cache.delete(CACHE_KEY)
    except RedisError as exc:
        log.warning("top-rated cache not invalidated (stale up to %ss): %s", TTL_SECONDS, exc)


@require_GET
def top_rated(request: HttpRequest) -> JsonResponse:
    variant, top = run(NAME, naive, optimised)
    return json_answer(top, variant)


def _review_in(request: HttpRequest) -> tuple[int, int, str]:
    body = json_body(request)
    if not isinstance(body, dict) or set(body) - {"user_id", "rating", "body"}:
        raise BadRequest("body must be an object with user_id, rating and body only")
    user_id, rating, text = body.get("user_id"), body.get("rating"), body.get("body")
    if not isinstance(user_id, int) or not 1 <= user_id <= 2**31 - 1:
        raise BadRequest("user_id must be an integer id")
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise BadRequest("rating must be an integer from 1 to 5")
    if not isinstance(text, str) or not 1 <= len(text) <= 5000:
        raise BadRequest("body must be a string of 1 to 5000 characters")
    return user_id, rating, storable_text(text, "body")


@csrf_exempt
@require_POST
def add_review(request: HttpRequest, book_id: int) -> JsonResponse:
    check_id(book_id, "book_id")
    user_id, rating, text = _review_in(request)
    try:
        review = Review.objects.create(
            book_id=book_id, user_id=user_id, rating=rating, body=text, created_at=timezone.now()
        )
    except IntegrityError:
        # Which of the two was unknown: one look-up, only on this error path.
        if not Customer.objects.filter(id=user_id).exists():
            raise NotFound(f"user {user_id} not found") from None
        raise NotFound(f"book {book_id} not found") from None
    invalidate()
    return json_answer(
        {
            "id": review.id,
            "book_id": book_id,
            "user_id": user_id,
            "rating": rating,
            "body": text,
            "created_at": review.created_at,
        },
        status=201,
    )


TECHNIQUE = Technique(
    TECHNIQUES[NAME],
    [
        path("genres/top-rated", top_rated),
        path("books/<int:book_id>/reviews", add_review),
    ],
)
