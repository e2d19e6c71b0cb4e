"""The services' side of Celery: enqueue tasks and read their state.

Built from the Settings the service was created with (not the worker's module-level
app, which reads the environment), so an app created for a test talks to the test
broker. `TaskClient` is the API's (asyncio: Celery's blocking calls run in a thread),
`BlockingTaskClient` the WSGI services' (Django, Flask). Every id handed out is
remembered in Redis for as long as its result lives, so an unknown id gets a 404
instead of Celery's eternal PENDING.
"""

from __future__ import annotations

import asyncio
from typing import Any

from celery import Celery, states
from kombu.exceptions import OperationalError
from pydantic import BaseModel
from redis import Redis as BlockingRedis
from redis.asyncio import Redis

from perflab.errors import DependencyUnavailable, NotFound
from perflab.settings import Settings
from perflab.telemetry.metrics import CELERY_TASKS_ENQUEUED

CONFIRM_ORDER_TASK = "perflab.send_order_confirmation"
RESULT_TTL_SECONDS = 3600
_KNOWN_KEY = "perflab:tasks:{}"

for _task in (CONFIRM_ORDER_TASK,):
    CELERY_TASKS_ENQUEUED.labels(task=_task)


class TaskStatus(BaseModel):
    task_id: str
    task: str
    state: str  # Celery's: PENDING, STARTED, RETRY, SUCCESS, FAILURE
    ready: bool
    result: Any = None
    error: str | None = None


def _celery_apps(name: str, settings: Settings) -> tuple[Celery, Celery]:
    """A sender and a result reader. Two apps: a sender with a result backend would
    subscribe to every task's result channel on send (and never unsubscribe unless
    someone calls .get())."""
    broker = settings.celery_broker_url
    sender = Celery(name, broker=broker, set_as_current=False)
    results = Celery(name, backend=broker, set_as_current=False)
    for app in (sender, results):
        app.conf.update(
            task_serializer="json",
            result_serializer="json",
            accept_content=["json"],
            result_expires=RESULT_TTL_SECONDS,
        )
    return sender, results


class TaskClient:
    def __init__(self, settings: Settings, redis: Redis) -> None:
        self._sender, self._results = _celery_apps("perflab-api", settings)
        self._queue = settings.celery.queue
        self._redis = redis

    async def enqueue(self, task: str, *args: Any) -> str:
        def publish() -> str:
            result = self._sender.send_task(task, args=list(args), queue=self._queue)
            return str(result.id)

        try:
            task_id = await asyncio.to_thread(publish)
        except OperationalError as exc:
            raise DependencyUnavailable("celery broker", str(exc)) from exc
        CELERY_TASKS_ENQUEUED.labels(task=task).inc()
        await self._redis.set(_KNOWN_KEY.format(task_id), task, ex=RESULT_TTL_SECONDS)
        return task_id

    async def status(self, task_id: str) -> TaskStatus:
        known = await self._redis.get(_KNOWN_KEY.format(task_id))
        if known is None:
            raise NotFound(f"task {task_id} not found (unknown or expired)")

        def read() -> TaskStatus:
            # One backend read (AsyncResult's properties would each read again).
            meta = self._results.backend.get_task_meta(task_id)
            state = str(meta["status"])
            return TaskStatus(
                task_id=task_id,
                task=known.decode() if isinstance(known, bytes) else str(known),
                state=state,
                ready=state in states.READY_STATES,
                result=meta.get("result") if state == states.SUCCESS else None,
                error=repr(meta.get("result")) if state in states.EXCEPTION_STATES else None,
            )

        try:
            return await asyncio.to_thread(read)
        except OperationalError as exc:
            raise DependencyUnavailable("celery result backend", str(exc)) from exc

    def close(self) -> None:
        self._sender.close()
        self._results.close()


class BlockingTaskClient:
    """`TaskClient` for synchronous services: the same task, queue, ids and answers."""

    def __init__(self, settings: Settings, redis: BlockingRedis) -> None:
        self._sender, self._results = _celery_apps("perflab-service", settings)
        self._queue = settings.celery.queue
        self._redis = redis

    def enqueue(self, task: str, *args: Any) -> str:
        try:
            task_id = str(self._sender.send_task(task, args=list(args), queue=self._queue).id)
        except OperationalError as exc:
            raise DependencyUnavailable("celery broker", str(exc)) from exc
        CELERY_TASKS_ENQUEUED.labels(task=task).inc()
        self._redis.set(_KNOWN_KEY.format(task_id), task, ex=RESULT_TTL_SECONDS)
        return task_id

    def status(self, task_id: str) -> TaskStatus:
        known = self._redis.get(_KNOWN_KEY.format(task_id))
        if known is None:
            raise NotFound(f"task {task_id} not found (unknown or expired)")
        try:
            meta = self._results.backend.get_task_meta(task_id)
        except OperationalError as exc:
            raise DependencyUnavailable("celery result backend", str(exc)) from exc
        state = str(meta["status"])
        return TaskStatus(
            task_id=task_id,
            task=known.decode() if isinstance(known, bytes) else str(known),
            state=state,
            ready=state in states.READY_STATES,
            result=meta.get("result") if state == states.SUCCESS else None,
            error=repr(meta.get("result")) if state in states.EXCEPTION_STATES else None,
        )

    def close(self) -> None:
        self._sender.close()
        self._results.close()
