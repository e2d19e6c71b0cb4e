"""What one A/B experiment is asked to do: the flag, the stack, the load and its timing."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_SEED = 1


@dataclass(frozen=True)
class Config:
    flag: str
    api: str
    prometheus: str
    worker_metrics: str | None = None  # the worker's /metrics URL (None: API only)
    duration_seconds: float = 20  # measured per arm (extended when the figures need it)
    warmup_seconds: float = 2  # after each flip, before the window opens
    repeats: int = 3
    users: int = 10
    # None: closed loop (0 s) when the key figure is throughput, else each user's own pace.
    think_seconds: float | None = None
    scenario: str | None = None  # None: the technique's own user class
    admin_token: str | None = None
    # Every run asks for the same ids, pages and keys (None: fresh draws each run): a
    # technique whose cost depends on them (pagination's page depth) then compares like
    # with like across runs.
    seed: int | None = DEFAULT_SEED
    pin: bool = True  # API and Locust on different cores (two cores or more)
    # Where flags are flipped when `api` serves no `/flags` (the Flask or Django service):
    # the FastAPI service; flags are shared through Redis, so every service hears it.
    flags_api: str | None = None
    # The `service` label of the service at `api` (fastapi, django, ...): the figures
    # Prometheus samples read only its series.
    service: str = "fastapi"
    settle_seconds: float = 1.0  # a flip reaches every process within 1 s
    min_requests: int = 20  # route answers a window waits for (beyond --duration)
    max_drain_seconds: float = 30.0  # the longest wait for the old variant's requests
