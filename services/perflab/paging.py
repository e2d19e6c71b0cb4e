"""The order feed's position and cursor, shared by the three services' pagination.

A page is named by its number and size; a cursor (`next_cursor`) also carries the last
id of the page before it, which is what lets a keyset query seek instead of counting
rows. The cursor is opaque to clients (URL-safe base64 of a versioned string) and the
same in every service, so a client can follow any service's feed the same way.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

MAX_PAGE = 1_000_000
MAX_SIZE = 200
DEFAULT_SIZE = 50
MAX_ORDER_ID = 2**63 - 1  # orders.id is a bigint
_CURSOR_PREFIX = "v1"


class PagingError(ValueError):
    """A request the feed cannot page: `field` names the query parameter at fault and the
    message says why, for the service's own 4xx."""

    def __init__(self, field: str, value: object, message: str) -> None:
        super().__init__(message)
        self.field, self.value = field, value


@dataclass(frozen=True)
class Position:
    page: int
    size: int
    after_id: int | None  # known from a cursor; None when only the page is known

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.page - 1) * self.size


def encode_cursor(position: Position) -> str:
    raw = f"{_CURSOR_PREFIX}:{position.page}:{position.size}:{position.after_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    """The position a cursor of this feed names; PagingError for anything else."""
    bad = PagingError("cursor", cursor, "not a cursor returned by this endpoint")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, page, size, after_id = raw.split(":")
        position = Position(int(page), int(size), int(after_id))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    # Every bound checked before any SQL: a forged id beyond bigint must not reach a driver.
    if prefix != _CURSOR_PREFIX or not (
        1 < position.page <= MAX_PAGE
        and 1 <= position.size <= MAX_SIZE
        and 1 <= (position.after_id or 0) <= MAX_ORDER_ID
    ):
        raise bad
    return position


def parse_position(page: int | None, cursor: str | None, size: int | None) -> Position:
    """The page a request asks for: by number (`page`, default 1) or by `cursor`, never
    both; `size` must match the cursor's. The bounds of `page` and `size` are each
    service's own validation; PagingError names what else is wrong."""
    if cursor is None:
        return Position(page or 1, size or DEFAULT_SIZE, None)
    if page is not None:
        raise PagingError("page", page, "give either page or cursor, not both")
    found = decode_cursor(cursor)
    if size is not None and size != found.size:
        raise PagingError("size", size, f"the cursor is for pages of {found.size}")
    return found


def page_answer(position: Position, items: list[dict[str, Any]], more: bool) -> dict[str, Any]:
    """The feed's answer: the page's items and, when `more` pages follow, the cursor of
    the next one (which carries the last id seen)."""
    following = (
        encode_cursor(Position(position.page + 1, position.size, items[-1]["id"]))
        if items and more
        else None
    )
    return {"page": position.page, "size": position.size, "items": items, "next_cursor": following}
