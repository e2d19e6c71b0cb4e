"""Text the services pass to Postgres: no NUL character and nothing but real Unicode.

Postgres text cannot hold NUL (0x00) and UTF-8 cannot encode a lone surrogate, so
either would fail inside the database call as a 500; validated here, it is a 4xx
naming the field (schemathesis found both in review bodies). Used by all three services:
pydantic models take `StorableText`, hand-written parsers call `storable`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def storable(value: str) -> str:
    """`value` if Postgres can store it, else ValueError saying why."""
    if "\x00" in value:
        raise ValueError("must not contain NUL (0x00) characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogate)") from None
    return value


StorableText = Annotated[str, AfterValidator(storable)]
