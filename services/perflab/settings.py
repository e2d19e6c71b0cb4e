"""Settings for every perflab process, read from `PERFLAB_*` environment variables.

Nested fields use `__`: `PERFLAB_DB__POOL_MAX=20`. Flags are runtime state kept in
Redis; settings only give their defaults (`PERFLAB_FLAGS__N_PLUS_ONE=false`).
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class DbSettings(BaseModel):
    dsn: str = "postgresql://perflab@127.0.0.1:55432/perflab"
    pool_min: int = Field(default=2, ge=1)
    pool_max: int = Field(default=10, ge=1)
    statement_cache_size: int = Field(default=100, ge=0)
    command_timeout_seconds: float = Field(default=30.0, gt=0)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)


class RedisSettings(BaseModel):
    url: str = "redis://127.0.0.1:56379/0"
    socket_timeout_seconds: float = Field(default=2.0, gt=0)


class CelerySettings(BaseModel):
    # None: use the Redis server above, database 1, so flags and the broker never collide.
    broker_url: str | None = None
    queue: str = "perflab"


class WorkerSettings(BaseModel):
    concurrency: int = Field(default=2, ge=1)
    # The worker's own /metrics (all its pool processes aggregated).
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9808


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=2, ge=1)


class DjangoSettings(BaseModel):
    """The Django service (gunicorn): `PERFLAB_DJANGO__WORKERS=4`."""

    host: str = "127.0.0.1"
    port: int = 8001
    workers: int = Field(default=2, ge=1)
    # gunicorn's gthread worker: requests served at once per worker process.
    threads: int = Field(default=4, ge=1)
    # Where `collectstatic` puts the hashed, compressed files WhiteNoise serves
    # (None: a folder under the system temp dir, made at start).
    static_root: str | None = None
    # Host names it answers besides 127.0.0.1, localhost and `django` (compose).
    allowed_hosts: list[str] = Field(default_factory=list)
    # None: a random key per process (the lab signs no session that must outlive it).
    secret_key: SecretStr | None = None


class TelemetrySettings(BaseModel):
    metrics_enabled: bool = True
    tracing_enabled: bool = True
    otlp_endpoint: str | None = None
    # Head sampling of root spans; 1 % keeps tracing within 10 % of throughput on the
    # cheapest DB read (docs/telemetry.md). The telemetry_sampling flag off: every trace.
    trace_sample_ratio: float = Field(default=0.01, ge=0.0, le=1.0)
    log_level: str = "INFO"


class FlagSettings(BaseModel):
    """Default state of every flag; `on` means the optimised path."""

    default_enabled: bool = True
    overrides: dict[str, bool] = Field(default_factory=dict)
    resync_interval_seconds: float = Field(default=5.0, gt=0)

    def default_for(self, name: str) -> bool:
        return self.overrides.get(name, self.default_enabled)


class TechniqueSettings(BaseModel):
    """Stand-ins for slow work in the concurrency techniques."""

    # The fake SMTP call of background_offload.
    email_delay_seconds: float = Field(default=0.2, ge=0)
    # The slow upstream of async_io.
    upstream_latency_seconds: float = Field(default=0.05, ge=0)
    # Processes of cpu_offload's pool, per API process.
    cpu_pool_workers: int = Field(default=2, ge=1)


class ProfilingSettings(BaseModel):
    """Per-request profiles (`X-Profile: cpu|memory`) and memory windows (profile/)."""

    # Off by default: a profiled request runs slower, and the profile shows code paths.
    enabled: bool = False
    # How long a stored profile can be fetched at /profiles/{id}.
    ttl_seconds: int = Field(default=3600, ge=1)
    # pyinstrument's sampling interval.
    cpu_interval_seconds: float = Field(default=0.001, gt=0)
    # Frames kept per allocation traceback (tracemalloc); more costs more while tracing.
    memory_frames: int = Field(default=25, ge=1, le=100)
    # The longest memory window `POST /profiles/memory` accepts.
    max_window_seconds: float = Field(default=60.0, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PERFLAB_", env_nested_delimiter="__", extra="ignore"
    )

    db: DbSettings = DbSettings()
    redis: RedisSettings = RedisSettings()
    celery: CelerySettings = CelerySettings()
    api: ApiSettings = ApiSettings()
    django: DjangoSettings = DjangoSettings()
    worker: WorkerSettings = WorkerSettings()
    telemetry: TelemetrySettings = TelemetrySettings()
    flags: FlagSettings = FlagSettings()
    techniques: TechniqueSettings = TechniqueSettings()
    profiling: ProfilingSettings = ProfilingSettings()
    # When set, PUT /flags/{name} requires `Authorization: Bearer <token>`.
    admin_token: SecretStr | None = None

    @property
    def celery_broker_url(self) -> str:
        if self.celery.broker_url:
            return self.celery.broker_url
        base = self.redis.url.rsplit("/", 1)[0]
        return f"{base}/1"


@lru_cache
def get_settings() -> Settings:
    return Settings()
