"""The two JSON serialisers `fast_json` compares, the same in every service.

`with_stdlib` is `json.dumps`: it walks the objects in C but calls back into Python
(`default=`) for every datetime, and builds a str that must then be encoded to UTF-8.
`with_orjson` is `orjson.dumps` (Rust): datetimes handled natively, UTF-8 bytes
written directly. For the lab's payloads both give the same bytes: compact
separators, non-ASCII as is, RFC 3339 datetimes.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import orjson


def iso_datetime(value: object) -> str:
    # json calls back into Python for every value it cannot encode itself.
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def with_stdlib(value: Any) -> bytes:
    return json.dumps(
        value, default=iso_datetime, separators=(",", ":"), ensure_ascii=False
    ).encode()


def with_orjson(value: Any) -> bytes:
    return orjson.dumps(value)
