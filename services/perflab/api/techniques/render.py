"""Answers rendered once: rows straight to JSON bytes, sent as they are.

FastAPI's `response_model` validates what an endpoint returns and serialises it. For
an answer built from typed database columns that check buys nothing, and building
pydantic models first, only for them to be validated and serialised again, costs
more CPU than a single-row query (the models of a 2000-row report: ~10 ms). These
endpoints render with orjson, which writes the same bytes pydantic does for these
types (UTC datetimes end in `Z`), and keep `response_model` for the OpenAPI schema.
Both variants of a technique render the same way, so their answers stay identical.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response

from perflab.api.techniques.base import VARIANT_HEADER

MEDIA_TYPE = "application/json"


def render(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_UTC_Z)


def answer(body: bytes, tagged: Response, status_code: int = 200) -> Response:
    """The rendered `body`, with the variant header `run` put on `tagged`."""
    return Response(
        body,
        status_code=status_code,
        media_type=MEDIA_TYPE,
        headers={VARIANT_HEADER: tagged.headers[VARIANT_HEADER]},
    )
