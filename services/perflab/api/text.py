"""Text the API passes to Postgres: no NUL character and nothing but real Unicode.

Postgres text cannot hold NUL (0x00) and UTF-8 cannot encode a lone surrogate, so
either would fail inside the database call as a 500; validated here, it is a 422
naming the field (schemathesis found both in review bodies).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL (0x00) characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogate)") from None
    return value


StorableText = Annotated[str, AfterValidator(_storable)]
