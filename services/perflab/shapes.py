"""JSON shapes the Django and Flask services build from their ORM objects.

Django's models and the Flask service's SQLAlchemy mappings name their fields after the
lab's columns, so one function serves both; the API builds the same shapes from asyncpg
rows. Keys keep the API's order, so the answers read the same in every service.
"""

from __future__ import annotations

from typing import Any


def book_with_author(book: Any, *, description: bool = True) -> dict[str, Any]:
    """A book and its author (loaded with it: `select_related` / `joinedload`)."""
    shown: dict[str, Any] = {
        "id": book.id,
        "title": book.title,
        "isbn": book.isbn,
        "genre": book.genre,
        "published_year": book.published_year,
        "price_cents": book.price_cents,
    }
    if description:
        shown["description"] = book.description
    author = book.author
    shown["author"] = {"id": author.id, "name": author.name, "country": author.country}
    return shown


def report_of(key: tuple[int, int, int], books: list[dict[str, Any]]) -> dict[str, Any]:
    """bounded_cache's answer: an author's books between two years, their reviews summed."""
    author_id, since, until = key
    return {
        "author_id": author_id,
        "since": since,
        "until": until,
        "books": books,
        "reviews": sum(book["review_count"] for book in books),
    }
