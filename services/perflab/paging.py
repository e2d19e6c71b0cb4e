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

MAX_PAGE = 1_000_000
MAX_SIZE = 200
DEFAULT_SIZE = 50
MAX_ORDER_ID = 2**63 - 1  # orders.id is a bigint
_CURSOR_PREFIX = "v1"


class CursorError(ValueError):
    """Not a cursor this feed returned (the message says so, for a 4xx)."""


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
    """The position a cursor of this feed names; CursorError for anything else."""
    bad = CursorError("not a cursor returned by this endpoint")
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


def next_cursor(position: Position, last_id: int | None, more: bool) -> str | None:
    """The cursor of the page after `position` (whose last item is `last_id`), if any."""
    if last_id is None or not more:
        return None
    return encode_cursor(Position(position.page + 1, position.size, last_id))
