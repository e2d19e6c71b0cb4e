"""The lab's Alertmanager receiver: `POST /alerts/webhook`, `GET /alerts`, `GET /alerts/history`.

Alertmanager posts its webhook payload (version 4) here. Each alert's latest state is
kept in a Redis hash keyed by fingerprint, and every change of state (new, firing ->
resolved, fired again) is pushed onto a capped list, so every API process answers the
same. Alertmanager re-sends a whole group when any alert of it changes: repeats
update the current state but are not history.

Alertmanager never says "resolved" for an alert it has forgotten: one that stopped
firing while Alertmanager or Prometheus was down or restarted stays "firing" here.
Alertmanager re-sends a firing group every `repeat_interval` (10 minutes in the lab's
configuration), so `GET /alerts` reports a firing alert not heard of for longer than
that (plus two group intervals) as `stale`: nothing has confirmed it since.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from perflab.api.deps import RedisClient
from perflab.api.responses import ADMIN, WRITE
from perflab.telemetry.metrics import ALERTS_RECEIVED

router = APIRouter(prefix="/alerts", tags=["alerts"])

CURRENT_KEY = "perflab:alerts:current"
HISTORY_KEY = "perflab:alerts:history"
HISTORY_LIMIT = 1000
# The lab's rule names (prometheus/rules/perflab.alerts.yml; a test keeps them in sync).
# Any other name counts as `other`, so a stray sender cannot grow the metric's labels.
ALERT_NAMES = (
    "ApiLatencyP95High",
    "ApiErrorRatioHigh",
    "ApiThroughputCollapse",
    "DbPoolSaturated",
    "TooManyQueriesPerRequest",
    "CacheHitRatioLow",
    "CeleryQueueBacklogGrowing",
    "CeleryOldestMessageTooOld",
    "CeleryUnackedTooOld",
    "CeleryWorkerDown",
    "EventLoopLagHigh",
    "ApiMemoryGrowing",
    "TargetDown",
)
OTHER = "other"
# prometheus/alertmanager.yml: repeat_interval 10m + 2 x group_interval 1m, plus a
# minute for the webhook's own retries (a test checks this against the file).
STALE_AFTER = timedelta(minutes=13)
Status = Literal["firing", "resolved"]
# "stale" is never sent by Alertmanager: it is this receiver's reading of a firing
# alert that Alertmanager stopped repeating.
CurrentStatus = Literal["firing", "resolved", "stale"]

for _name in (*ALERT_NAMES, OTHER):
    for _status in ("firing", "resolved"):
        ALERTS_RECEIVED.labels(alertname=_name, status=_status)


class _Wire(BaseModel):
    # Field names are Alertmanager's own (camelCase): these models are its wire format.
    model_config = ConfigDict(extra="ignore")


class AlertIn(_Wire):
    status: Status
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime
    # Alertmanager sends year 1 ("0001-01-01T00:00:00Z") while an alert fires.
    endsAt: datetime | None = None
    generatorURL: str = ""
    fingerprint: str = Field(min_length=1, max_length=64, pattern=r"^[0-9a-zA-Z]+$")

    @field_validator("labels")
    @classmethod
    def _has_alertname(cls, labels: dict[str, str]) -> dict[str, str]:
        if not labels.get("alertname"):
            raise ValueError("labels must include alertname")
        return labels

    @field_validator("endsAt")
    @classmethod
    def _unset_is_none(cls, ends_at: datetime | None) -> datetime | None:
        return None if ends_at is None or ends_at.year <= 1 else ends_at


class WebhookIn(_Wire):
    version: str
    status: Status
    receiver: str
    groupKey: str
    groupLabels: dict[str, str] = Field(default_factory=dict)
    truncatedAlerts: int = Field(default=0, ge=0)
    alerts: list[AlertIn] = Field(min_length=1)


class AlertOut(_Wire):
    fingerprint: str
    alertname: str
    status: CurrentStatus  # stored and in history: "firing" or "resolved"
    severity: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    startsAt: datetime
    endsAt: datetime | None
    generatorURL: str
    receivedAt: datetime


class AlertsOut(BaseModel):
    alerts: list[AlertOut]


class Received(BaseModel):
    received: int
    changed: int


def _record(alert: AlertIn, now: datetime) -> AlertOut:
    return AlertOut(
        fingerprint=alert.fingerprint,
        alertname=alert.labels["alertname"],
        status=alert.status,
        severity=alert.labels.get("severity"),
        labels=alert.labels,
        annotations=alert.annotations,
        startsAt=alert.startsAt,
        endsAt=alert.endsAt,
        generatorURL=alert.generatorURL,
        receivedAt=now,
    )


def _is_change(stored: bytes | str | None, alert: AlertIn) -> bool:
    if stored is None:
        return True
    before = AlertOut.model_validate_json(stored)
    return before.status != alert.status or before.startsAt != alert.startsAt


@router.post("/webhook", response_model=Received, responses=WRITE, openapi_extra=ADMIN)
async def webhook(payload: WebhookIn, redis: RedisClient) -> Received:
    now = datetime.now(UTC)
    fingerprints = [alert.fingerprint for alert in payload.alerts]
    stored = await redis.hmget(CURRENT_KEY, fingerprints)
    changed = 0
    async with redis.pipeline(transaction=True) as pipe:
        for alert, before in zip(payload.alerts, stored, strict=True):
            record = _record(alert, now).model_dump_json()
            pipe.hset(CURRENT_KEY, alert.fingerprint, record)
            if _is_change(before, alert):
                pipe.lpush(HISTORY_KEY, record)
                changed += 1
        pipe.ltrim(HISTORY_KEY, 0, HISTORY_LIMIT - 1)
        await pipe.execute()
    for alert in payload.alerts:
        name = alert.labels["alertname"]
        label = name if name in ALERT_NAMES else OTHER
        ALERTS_RECEIVED.labels(alertname=label, status=alert.status).inc()
    return Received(received=len(payload.alerts), changed=changed)


def _current(stored: bytes | str, now: datetime) -> AlertOut:
    alert = AlertOut.model_validate_json(stored)
    if alert.status == "firing" and now - alert.receivedAt > STALE_AFTER:
        alert.status = "stale"
    return alert


@router.get("", response_model=AlertsOut)
async def current_alerts(redis: RedisClient, status: CurrentStatus | None = None) -> AlertsOut:
    """The latest state of every alert seen: firing first, then the newest first.

    `stale`: it was firing when Alertmanager last sent it, longer ago than Alertmanager
    repeats a firing alert, so it stopped firing unseen (a restart in between).
    """
    now = datetime.now(UTC)
    alerts = [_current(item, now) for item in await redis.hvals(CURRENT_KEY)]
    if status is not None:
        alerts = [alert for alert in alerts if alert.status == status]
    alerts.sort(key=lambda alert: alert.startsAt, reverse=True)
    alerts.sort(key=lambda alert: alert.status != "firing")
    return AlertsOut(alerts=alerts)


@router.get("/history", response_model=list[AlertOut])
async def alert_history(
    redis: RedisClient, limit: Annotated[int, Query(ge=1, le=HISTORY_LIMIT)] = 100
) -> list[AlertOut]:
    """Changes of alert state, newest first."""
    raw = await redis.lrange(HISTORY_KEY, 0, limit - 1)
    return [AlertOut.model_validate_json(item) for item in raw]
