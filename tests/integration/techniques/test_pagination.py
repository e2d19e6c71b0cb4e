"""pagination: same pages both ways (walked by cursor and jumped to); rows read counted.

The proof by count is `EXPLAIN (ANALYZE)` of the two queries for a deep page: the
OFFSET plan reads every earlier row from the primary-key index ((N-1) x size + the
page + 1), the keyset plan reads the page + 1, whatever N is.
"""

from __future__ import annotations

import httpx
import pytest

from perflab.api.techniques import pagination
from perflab.paging import Position, encode_cursor
from tests.integration.techniques.plans import explain, nodes

pytestmark = pytest.mark.integration

SIZE = 25
DEEP_PAGE = 600  # 14,975 orders in, of the test data's 25,000


async def _feed(client: httpx.AsyncClient, variant: str, **params: object) -> dict:
    answer = await client.get("/orders/feed", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json()


async def _walk(client: httpx.AsyncClient, variant: str, pages: int) -> list[dict]:
    walked = [await _feed(client, variant, size=SIZE)]
    while len(walked) < pages:
        walked.append(await _feed(client, variant, cursor=walked[-1]["next_cursor"]))
    return walked


async def test_same_pages_by_cursor_and_by_page_number(app_client: httpx.AsyncClient, set_flag):
    await set_flag("pagination", False)
    naive_walk = await _walk(app_client, "naive", 4)
    naive_deep = await _feed(app_client, "naive", page=DEEP_PAGE, size=SIZE)
    before_deep = await _feed(app_client, "naive", page=DEEP_PAGE - 1, size=SIZE)
    await set_flag("pagination", True)
    optimised_walk = await _walk(app_client, "optimised", 4)
    jumped = await _feed(app_client, "optimised", page=DEEP_PAGE, size=SIZE)
    followed = await _feed(app_client, "optimised", cursor=before_deep["next_cursor"])

    assert naive_walk == optimised_walk
    assert naive_deep == jumped == followed
    ids = [o["id"] for page in naive_walk for o in page["items"]]
    assert len(ids) == 4 * SIZE and ids == sorted(set(ids))  # ascending, none repeated
    assert [p["page"] for p in naive_walk] == [1, 2, 3, 4]
    assert naive_deep["items"][0]["id"] > before_deep["items"][-1]["id"]


async def test_last_page_has_no_cursor_and_past_the_end_is_empty(
    app_client: httpx.AsyncClient, set_flag
):
    async with app_client.app.state.resources.pool.acquire() as conn:  # type: ignore[attr-defined]
        total = await conn.fetchval("SELECT count(*) FROM orders")
    last = -(-total // SIZE)
    for enabled, variant in ((False, "naive"), (True, "optimised")):
        await set_flag("pagination", enabled)
        final = await _feed(app_client, variant, page=last, size=SIZE)
        assert final["next_cursor"] is None and 1 <= len(final["items"]) <= SIZE
        beyond = await _feed(app_client, variant, page=last + 1, size=SIZE)
        assert beyond == {"page": last + 1, "size": SIZE, "items": [], "next_cursor": None}


async def test_offset_reads_every_earlier_row_and_keyset_only_the_page(
    app_client: httpx.AsyncClient,
):
    offset = (DEEP_PAGE - 1) * SIZE
    async with app_client.app.state.resources.pool.acquire() as conn:  # type: ignore[attr-defined]
        after_id = await conn.fetchval(pagination.BOUNDARY_SQL, offset - 1)
        deep = await explain(conn, pagination.OFFSET_SQL, offset, SIZE + 1, analyze=True)
        seek = await explain(conn, pagination.KEYSET_SQL, after_id, SIZE + 1, analyze=True)

    def rows_read(plan: dict) -> int:
        scans = [n for n in nodes(plan) if n.get("Relation Name") == "orders"]
        assert len(scans) == 1, scans
        return scans[0]["Actual Rows"]

    assert rows_read(deep) == offset + SIZE + 1
    assert rows_read(seek) == SIZE + 1


def _forged(page: int, size: int, after_id: int) -> str:
    return encode_cursor(Position(page, size, after_id))


@pytest.mark.parametrize("enabled", [False, True])
async def test_a_forged_cursor_is_422_before_any_sql(
    app_client: httpx.AsyncClient, set_flag, enabled: bool
):
    await set_flag("pagination", enabled)
    for cursor in (_forged(2, 50, 2**63), _forged(2, 50, 0), _forged(2, 50, -5)):
        answer = await app_client.get("/orders/feed", params={"cursor": cursor})
        assert answer.status_code == 422, answer.text
        assert answer.headers["X-DB-Queries"] == "0"
        detail = answer.json()["detail"][0]
        assert detail["loc"] == ["query", "cursor"]
        assert "not a cursor returned by this endpoint" in detail["msg"]


async def test_bad_input_is_422_with_the_reason(app_client: httpx.AsyncClient, set_flag):
    await set_flag("pagination", True)
    first = await _feed(app_client, "optimised", size=SIZE)
    cases = [
        ({"page": 0}, "page", None),
        ({"size": 201}, "size", None),
        ({"cursor": "not-a-cursor"}, "cursor", "not a cursor"),
        ({"cursor": first["next_cursor"], "page": 2}, "page", "either page or cursor"),
        ({"cursor": first["next_cursor"], "size": SIZE + 1}, "size", f"pages of {SIZE}"),
    ]
    for params, field, reason in cases:
        answer = await app_client.get("/orders/feed", params=params)
        assert answer.status_code == 422, params
        detail = answer.json()["detail"][0]
        assert detail["loc"] == ["query", field]
        assert reason is None or reason in detail["msg"]
