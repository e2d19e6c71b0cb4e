"""pagination (Flask): the API's pages both ways (walked by cursor and jumped to); the
proof by count: rows read, from `EXPLAIN (ANALYZE)` of the very statements the two paths
run (OFFSET reads every earlier row, the keyset only the page and one more)."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from flask.testing import FlaskClient
from sqlalchemy.dialects import postgresql

from perflab.flask_service.models import Order
from perflab.flask_service.techniques.pagination import orders
from perflab.settings import Settings
from tests.integration.techniques.plans import explain, nodes

pytestmark = pytest.mark.integration

SIZE = 25
DEEP_PAGE = 600  # 14,975 orders in, of the test data's 25,000


def _feed(client: FlaskClient, variant: str, **params: object) -> dict:
    answer = client.get("/orders/feed", query_string=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json


def _walk(client: FlaskClient, variant: str, pages: int) -> list[dict]:
    walked = [_feed(client, variant, size=SIZE)]
    while len(walked) < pages:
        walked.append(_feed(client, variant, cursor=walked[-1]["next_cursor"]))
    return walked


async def test_same_pages_both_ways_and_as_the_api(
    flask_client: FlaskClient, flask_flag, app_client: httpx.AsyncClient
) -> None:
    await flask_flag("pagination", False)
    naive_walk = _walk(flask_client, "naive", 4)
    naive_deep = _feed(flask_client, "naive", page=DEEP_PAGE, size=SIZE)
    before_deep = _feed(flask_client, "naive", page=DEEP_PAGE - 1, size=SIZE)
    await flask_flag("pagination", True)
    optimised_walk = _walk(flask_client, "optimised", 4)
    jumped = _feed(flask_client, "optimised", page=DEEP_PAGE, size=SIZE)
    followed = _feed(flask_client, "optimised", cursor=before_deep["next_cursor"])

    assert naive_walk == optimised_walk
    assert naive_deep == jumped == followed
    ids = [o["id"] for page in naive_walk for o in page["items"]]
    assert len(ids) == 4 * SIZE and ids == sorted(set(ids))  # ascending, none repeated
    # The API's page, item for item, and its cursor: a client follows either the same way.
    api = await app_client.get("/orders/feed", params={"page": DEEP_PAGE, "size": SIZE})
    assert api.json() == jumped


async def test_last_page_has_no_cursor_and_past_the_end_is_empty(
    flask_client: FlaskClient, flask_flag, settings: Settings
) -> None:
    conn = await asyncpg.connect(settings.db.dsn)
    try:
        total = await conn.fetchval("SELECT count(*) FROM orders")
    finally:
        await conn.close()
    last = -(-total // SIZE)
    for enabled, variant in ((False, "naive"), (True, "optimised")):
        await flask_flag("pagination", enabled)
        final = _feed(flask_client, variant, page=last, size=SIZE)
        assert final["next_cursor"] is None and 1 <= len(final["items"]) <= SIZE
        beyond = _feed(flask_client, variant, page=last + 1, size=SIZE)
        assert beyond == {"page": last + 1, "size": SIZE, "items": [], "next_cursor": None}


async def test_offset_reads_every_earlier_row_and_keyset_only_the_page(
    settings: Settings,
) -> None:
    offset = (DEEP_PAGE - 1) * SIZE
    conn = await asyncpg.connect(settings.db.dsn)
    try:
        after_id = await conn.fetchval(
            "SELECT id FROM orders ORDER BY id OFFSET $1 LIMIT 1", offset - 1
        )
        # The statements the two paths build, compiled as psycopg would send them.
        deep = await explain(conn, _sql(orders().offset(offset).limit(SIZE + 1)), analyze=True)
        seek = await explain(
            conn, _sql(orders().where(Order.id > after_id).limit(SIZE + 1)), analyze=True
        )
    finally:
        await conn.close()

    def rows_read(plan: dict) -> int:
        scans = [n for n in nodes(plan) if n.get("Relation Name") == "orders"]
        assert len(scans) == 1, scans
        return scans[0]["Actual Rows"]

    assert rows_read(deep) == offset + SIZE + 1
    assert rows_read(seek) == SIZE + 1


def _sql(statement: object) -> str:
    compiled = statement.compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    return str(compiled)


def test_bad_input_is_422_with_the_reason(flask_client: FlaskClient) -> None:
    first = flask_client.get("/orders/feed", query_string={"size": SIZE}).json
    cases = [
        ({"page": 0}, "page", None),
        ({"size": 201}, "size", None),
        ({"cursor": "not-a-cursor"}, "cursor", "not a cursor"),
        ({"cursor": first["next_cursor"], "page": 2}, "page", "either page or cursor"),
        ({"cursor": first["next_cursor"], "size": SIZE + 1}, "size", f"pages of {SIZE}"),
    ]
    for params, field, reason in cases:
        answer = flask_client.get("/orders/feed", query_string=params)
        assert answer.status_code == 422, params
        detail = answer.json["detail"][0]
        assert detail["loc"] == ["query", field]
        assert reason is None or reason in detail["msg"]
        assert answer.headers["X-DB-Queries"] == "0"
