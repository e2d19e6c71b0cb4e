"""db_index (Flask): the API's flip builds / drops the index; the Flask service runs the
same statement both ways; EXPLAIN of that very statement shows the scan change."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from flask.testing import FlaskClient
from sqlalchemy.dialects import postgresql

from perflab.flask_service.techniques.db_index import orders_query
from perflab.settings import Settings
from tests.integration.techniques.plans import explain, nodes

pytestmark = pytest.mark.integration
INDEX = "orders_user_id_idx"


async def _scans(conn: asyncpg.Connection, user_id: int) -> list[dict]:
    compiled = orders_query(user_id).compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    plan = await explain(conn, str(compiled))
    return [n for n in nodes(plan) if n.get("Relation Name") == "orders" or "Index Name" in n]


def _orders(client: FlaskClient, user_id: int, variant: str) -> tuple[dict, int]:
    answer = client.get(f"/users/{user_id}/orders")
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json, int(answer.headers["X-DB-Queries"])


async def test_same_orders_both_ways_as_the_api_and_the_plan_follows_the_index(
    flask_client: FlaskClient, flask_flag, settings: Settings, app_client: httpx.AsyncClient
) -> None:
    conn = await asyncpg.connect(settings.db.dsn)
    try:
        user_id = await conn.fetchval(
            "SELECT user_id FROM orders GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1"
        )
        await flask_flag("db_index", True)
        await flask_flag("db_index", False)  # a real flip whatever the starting state
        naive, naive_statements = _orders(flask_client, user_id, "naive")
        assert [n["Node Type"] for n in await _scans(conn, user_id)] == ["Seq Scan"]

        await flask_flag("db_index", True)
        optimised, optimised_statements = _orders(flask_client, user_id, "optimised")
        scans = await _scans(conn, user_id)
        assert "Seq Scan" not in [n["Node Type"] for n in scans]
        assert INDEX in [n.get("Index Name") for n in scans]
    finally:
        await conn.close()

    assert naive == optimised == (await app_client.get(f"/users/{user_id}/orders")).json()
    assert naive["user_id"] == user_id and len(naive["orders"]) > 1
    assert naive_statements == optimised_statements == 1


def test_an_unknown_user_is_404_and_a_bad_id_422(flask_client: FlaskClient) -> None:
    missing = flask_client.get("/users/2147483647/orders")
    assert missing.status_code == 404 and "2147483647" in missing.json["error"]
    assert flask_client.get("/users/0/orders").status_code == 422
