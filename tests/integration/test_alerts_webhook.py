"""The lab's Alertmanager webhook: Alertmanager-shaped payloads in, state in Redis out.

The last test puts a real Alertmanager (with the lab's config, inhibition included)
in front of a real uvicorn API, so the whole receiving path is exercised.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from perflab.api.routes.alerts import CURRENT_KEY, HISTORY_KEY, STALE_AFTER
from perflab.lab.prom_config import render_alertmanager_config
from perflab.lab.secrets import LabSecrets
from tests.support import monitoring
from tests.support.servers import service_env, uvicorn_server

pytestmark = pytest.mark.integration

STARTED = "2024-05-01T10:00:00.123456789Z"  # Go's RFC 3339 with nanoseconds
UNSET = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt while an alert fires


def _alert(name: str, status: str, fingerprint: str, **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": name, "job": "api", "severity": "warning", **labels},
        "annotations": {"summary": f"{name} summary", "runbook_url": "https://x/#runbook"},
        "startsAt": STARTED,
        "endsAt": UNSET if status == "firing" else "2024-05-01T10:05:00Z",
        "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=up",
        "fingerprint": fingerprint,
    }


def _payload(*alerts: dict[str, Any]) -> dict[str, Any]:
    """A notification exactly as Alertmanager 0.25 posts it (webhook version 4)."""
    firing = any(a["status"] == "firing" for a in alerts)
    name = alerts[0]["labels"]["alertname"]
    return {
        "receiver": "perflab-webhook",
        "status": "firing" if firing else "resolved",
        "alerts": list(alerts),
        "groupLabels": {"alertname": name, "job": "api"},
        "commonLabels": {"alertname": name, "job": "api"},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{name}", job="api"}}',
        "truncatedAlerts": 0,
    }


@pytest.fixture
async def clean_alerts(redis_client: Redis) -> AsyncIterator[None]:
    await redis_client.delete(CURRENT_KEY, HISTORY_KEY)
    yield
    await redis_client.delete(CURRENT_KEY, HISTORY_KEY)


async def _received(client: httpx.AsyncClient, alertname: str, status: str) -> float:
    text = (await client.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "perflab_alerts_received_total" and sample.labels == {
                "alertname": alertname,
                "status": status,
            }:
                return sample.value
    return 0.0


async def test_firing_then_resolved_updates_state_and_history(
    app_client: httpx.AsyncClient, clean_alerts: None
):
    name = "TooManyQueriesPerRequest"
    firing_before = await _received(app_client, name, "firing")
    firing = _alert(name, "firing", "3b4c1f0e5e8a6d2c", route="/books")

    answer = await app_client.post("/alerts/webhook", json=_payload(firing))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"received": 1, "changed": 1}
    # Alertmanager repeats a group's firing alerts: state, not history.
    repeat = await app_client.post("/alerts/webhook", json=_payload(firing))
    assert repeat.json() == {"received": 1, "changed": 0}

    [current] = (await app_client.get("/alerts")).json()["alerts"]
    assert current["alertname"] == name and current["status"] == "firing"
    assert current["labels"]["route"] == "/books" and current["severity"] == "warning"
    assert current["endsAt"] is None
    assert current["startsAt"].startswith("2024-05-01T10:00:00.123456")

    resolved = _alert(name, "resolved", "3b4c1f0e5e8a6d2c", route="/books")
    assert (await app_client.post("/alerts/webhook", json=_payload(resolved))).status_code == 200
    [current] = (await app_client.get("/alerts")).json()["alerts"]
    assert current["status"] == "resolved" and current["endsAt"].startswith("2024-05-01T10:05")

    history = (await app_client.get("/alerts/history", params={"limit": 10})).json()
    assert [h["status"] for h in history] == ["resolved", "firing"]
    assert len((await app_client.get("/alerts/history", params={"limit": 1})).json()) == 1
    assert await _received(app_client, name, "firing") == firing_before + 2


async def test_current_alerts_list_firing_first_and_filter_by_status(
    app_client: httpx.AsyncClient, clean_alerts: None
):
    old = _alert("DbPoolSaturated", "resolved", "aa01", instance="i1")
    new = _alert("EventLoopLagHigh", "firing", "bb02", instance="i1")
    for alert in (old, new):
        assert (await app_client.post("/alerts/webhook", json=_payload(alert))).status_code == 200
    alerts = (await app_client.get("/alerts")).json()["alerts"]
    assert [a["fingerprint"] for a in alerts] == ["bb02", "aa01"]
    only = (await app_client.get("/alerts", params={"status": "resolved"})).json()["alerts"]
    assert [a["fingerprint"] for a in only] == ["aa01"]


async def test_a_firing_alert_not_repeated_by_alertmanager_turns_stale_until_it_is(
    app_client: httpx.AsyncClient, redis_client: Redis, clean_alerts: None
):
    lost = _alert("ApiMemoryGrowing", "firing", "ee05", instance="i1")
    live = _alert("EventLoopLagHigh", "firing", "ff06", instance="i1")
    for alert in (lost, live):
        assert (await app_client.post("/alerts/webhook", json=_payload(alert))).status_code == 200
    # As if Alertmanager last sent it before a restart, longer ago than it repeats one.
    stored = json.loads(await redis_client.hget(CURRENT_KEY, "ee05"))
    heard = datetime.now(UTC) - STALE_AFTER - timedelta(seconds=5)
    stored["receivedAt"] = heard.isoformat()
    await redis_client.hset(CURRENT_KEY, "ee05", json.dumps(stored))

    alerts = (await app_client.get("/alerts")).json()["alerts"]
    assert [(a["fingerprint"], a["status"]) for a in alerts] == [
        ("ff06", "firing"),
        ("ee05", "stale"),
    ]
    firing = (await app_client.get("/alerts", params={"status": "firing"})).json()["alerts"]
    assert [a["fingerprint"] for a in firing] == ["ff06"]
    stale = (await app_client.get("/alerts", params={"status": "stale"})).json()["alerts"]
    assert [a["fingerprint"] for a in stale] == ["ee05"]
    # History is what Alertmanager said, never the receiver's reading of it.
    history = (await app_client.get("/alerts/history")).json()
    assert {h["status"] for h in history} == {"firing"}

    # Alertmanager repeats it: firing again, and not a new change of state.
    again = await app_client.post("/alerts/webhook", json=_payload(lost))
    assert again.json() == {"received": 1, "changed": 0}
    firing = (await app_client.get("/alerts", params={"status": "firing"})).json()["alerts"]
    assert {a["fingerprint"] for a in firing} == {"ee05", "ff06"}


async def test_unknown_alert_names_share_one_metric_label(
    app_client: httpx.AsyncClient, clean_alerts: None
):
    before = await _received(app_client, "other", "firing")
    alert = _alert("SomebodyElsesAlert", "firing", "cc03")
    assert (await app_client.post("/alerts/webhook", json=_payload(alert))).status_code == 200
    assert await _received(app_client, "other", "firing") == before + 1
    assert await _received(app_client, "SomebodyElsesAlert", "firing") == 0


def _junk() -> dict[str, Callable[[dict[str, Any]], Any]]:
    def without(key: str) -> Callable[[dict[str, Any]], Any]:
        return lambda p: {k: v for k, v in p.items() if k != key}

    def alert_change(**change: Any) -> Callable[[dict[str, Any]], Any]:
        return lambda p: {**p, "alerts": [{**p["alerts"][0], **change}]}

    return {
        "no alerts": lambda p: {**p, "alerts": []},
        "no version": without("version"),
        "bad status": alert_change(status="burning"),
        "no alertname": alert_change(labels={"job": "api"}),
        "bad startsAt": alert_change(startsAt="yesterday"),
        "bad fingerprint": alert_change(fingerprint="a b"),
        "not an object": lambda p: [p],
    }


@pytest.mark.parametrize("case", sorted(_junk()))
async def test_junk_is_rejected_with_422_and_not_stored(
    app_client: httpx.AsyncClient, clean_alerts: None, case: str
):
    payload = _junk()[case](_payload(_alert("TargetDown", "firing", "dd04")))
    answer = await app_client.post("/alerts/webhook", json=payload)
    assert answer.status_code == 422
    assert (await app_client.get("/alerts")).json()["alerts"] == []


@pytest.fixture(scope="module")
def api_url(lab_root: Path, settings_env: dict[str, str]) -> Iterator[str]:
    with uvicorn_server(lab_root, service_env(settings_env), name="api-webhook") as url:
        yield url


async def _until(check: Callable[[], Any], within: float = 30) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.3)


async def test_real_alertmanager_delivers_with_inhibition_and_resolves(
    api_url: str, lab_root: Path, clean_alerts: None
):
    config = render_alertmanager_config(
        f"{api_url}/alerts/webhook", group_wait="1s", group_interval="1s"
    )
    now = datetime.now(UTC)

    def am_alert(name: str, severity: str, ends: datetime | None = None, **labels: str):
        body = {
            "labels": {"alertname": name, "job": "api", "severity": severity, **labels},
            "annotations": {"summary": name},
            "startsAt": now.isoformat(),
        }
        return body | ({"endsAt": ends.isoformat()} if ends else {})

    sent = [
        ("TargetDown", "critical", {"instance": "i1"}),
        ("EventLoopLagHigh", "warning", {"instance": "i1"}),  # inhibited: its target is down
        ("EventLoopLagHigh", "warning", {"instance": "i2"}),
        ("ApiErrorRatioHigh", "critical", {}),
        ("ApiErrorRatioHigh", "warning", {}),  # inhibited by its critical copy
    ]
    delivered = {("TargetDown", "i1"), ("EventLoopLagHigh", "i2"), ("ApiErrorRatioHigh", "")}

    async def seen(status: str) -> set[tuple[str, str]]:
        answer = (await api.get("/alerts", params={"status": status})).json()["alerts"]
        return {(a["alertname"], a["labels"].get("instance", "")) for a in answer}

    async def all_delivered(status: str) -> bool:
        return delivered <= await seen(status)

    with monitoring.alertmanager(lab_root, config) as am:
        async with httpx.AsyncClient(base_url=api_url, timeout=5) as api:
            posted = await api.post(
                f"{am.url}/api/v2/alerts", json=[am_alert(n, s, **lb) for n, s, lb in sent]
            )
            assert posted.status_code == 200, posted.text
            assert await _until(lambda: all_delivered("firing")), am.log_tail()
            # Once every group has been notified, the inhibited ones are truly held back.
            assert await seen("firing") == delivered
            states = {
                (a["labels"]["alertname"], a["labels"].get("instance", ""),
                 a["labels"]["severity"]): a["status"]["state"]
                for a in (await api.get(f"{am.url}/api/v2/alerts")).json()
            }  # fmt: skip
            assert states[("EventLoopLagHigh", "i1", "warning")] == "suppressed"
            assert states[("ApiErrorRatioHigh", "", "warning")] == "suppressed"
            assert states[("EventLoopLagHigh", "i2", "warning")] == "active"

            ended = now + timedelta(seconds=1)
            (
                await api.post(
                    f"{am.url}/api/v2/alerts",
                    json=[am_alert(n, s, ended, **lb) for n, s, lb in sent],
                )
            ).raise_for_status()
            assert await _until(lambda: all_delivered("resolved")), am.log_tail()
            assert delivered & await seen("firing") == set()


async def test_alertmanager_authenticates_to_an_api_with_an_admin_token(
    lab_root: Path, settings_env: dict[str, str], clean_alerts: None
):
    """The webhook is a write: a real Alertmanager sends the token from its credentials
    file and is served; the same alert posted without it is refused and not stored."""
    token = "webhook-test-token"
    credentials = LabSecrets(lab_root / "am-secrets").keep_admin_token(token)
    env = service_env(settings_env, {"PERFLAB_ADMIN_TOKEN": token})
    with uvicorn_server(lab_root, env, name="api-token") as api_url:
        async with httpx.AsyncClient(base_url=api_url, timeout=5) as api:
            forged = await api.post(
                "/alerts/webhook", json=_payload(_alert("TargetDown", "firing", "f1"))
            )
            assert forged.status_code == 401
            assert (await api.get("/alerts")).json()["alerts"] == []

            config = render_alertmanager_config(
                f"{api_url}/alerts/webhook", credentials_file=credentials,
                group_wait="1s", group_interval="1s",
            )  # fmt: skip
            alert = {"labels": {"alertname": "TargetDown", "job": "api", "severity": "critical"},
                     "startsAt": datetime.now(UTC).isoformat()}  # fmt: skip
            with monitoring.alertmanager(lab_root, config) as am:
                posted = await api.post(f"{am.url}/api/v2/alerts", json=[alert])
                assert posted.status_code == 200, posted.text

                async def delivered() -> bool:
                    return bool((await api.get("/alerts")).json()["alerts"])

                assert await _until(delivered), am.log_tail()
