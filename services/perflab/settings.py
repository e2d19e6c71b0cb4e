"""Settings for every perflab process, read from `PERFLAB_*` environment variables.

Nested fields use `__`: `PERFLAB_DB__POOL_MAX=20`. Flags are runtime state kept in
Redis; settings only give their defaults
(`PERFLAB_FLAGS__OVERRIDES='{"n_plus_one": false}'`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

ENV_PREFIX = "PERFLAB_"


def _readable(path: Path | None) -> Path | None:
    if path is not None:
        try:
            secret = path.read_text().strip()
        except OSError as exc:
            raise ValueError(f"cannot read the password file {path}: {exc.strerror}") from None
        if not secret:
            raise ValueError(f"the password file {path} is empty")
    return path


def with_password(url: str, password: str) -> str:
    """`url` with `password` as its password (user and everything else kept)."""
    parts = urlsplit(url)
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


class DbSettings(BaseModel):
    dsn: str = "postgresql://perflab@127.0.0.1:55432/perflab"
    # A file holding the password (the native lab's state folder, a Docker secret),
    # read at start-up into `dsn`: the password is in no environment or command line.
    password_file: Path | None = None
    pool_min: int = Field(default=2, ge=1)
    pool_max: int = Field(default=10, ge=1)
    statement_cache_size: int = Field(default=100, ge=0)
    command_timeout_seconds: float = Field(default=30.0, gt=0)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)

    _check_file = field_validator("password_file")(_readable)

    @model_validator(mode="after")
    def _password_from_file(self) -> DbSettings:
        if self.password_file is not None:
            self.dsn = with_password(self.dsn, self.password_file.read_text().strip())
        return self


class RedisSettings(BaseModel):
    url: str = "redis://127.0.0.1:56379/0"
    password_file: Path | None = None  # as DbSettings.password_file, read into `url`
    socket_timeout_seconds: float = Field(default=2.0, gt=0)

    _check_file = field_validator("password_file")(_readable)

    @model_validator(mode="after")
    def _password_from_file(self) -> RedisSettings:
        if self.password_file is not None:
            self.url = with_password(self.url, self.password_file.read_text().strip())
        return self


class CelerySettings(BaseModel):
    # None: use the Redis server above, database 1, so flags and the broker never collide.
    broker_url: str | None = None
    queue: str = "perflab"
    # A message delivered to a worker that dies unacknowledged is requeued this long
    # after its delivery (plus up to one restore sweep): worker/app.py, docs/faults.md.
    visibility_timeout_seconds: int = Field(default=30, ge=1)
    restore_sweep_seconds: int = Field(default=5, ge=1)


class WorkerSettings(BaseModel):
    """Where the Celery worker serves its own /metrics (its pool processes aggregated).
    Its pool size is Celery's `--concurrency` (`PERFLAB_LAB__WORKER_CONCURRENCY` under
    `lab up`)."""

    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9808


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    # Worker processes are uvicorn's `--workers` (`PERFLAB_LAB__API_WORKERS` under `lab up`).
    # Larger request bodies are refused with 413 before they are read.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)


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


class FlaskSettings(BaseModel):
    """The Flask service (gunicorn): `PERFLAB_FLASK__THREADS=8`."""

    host: str = "127.0.0.1"
    port: int = 8002
    workers: int = Field(default=2, ge=1)
    # gunicorn's gthread worker: requests served at once per worker process.
    threads: int = Field(default=4, ge=1)


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
    # resilience's optimised path: a deadline per attempt, attempts in all, and the
    # breaker's consecutive failures to open and seconds open before a trial call.
    upstream_timeout_seconds: float = Field(default=0.25, gt=0)
    upstream_attempts: int = Field(default=3, ge=1)
    breaker_failures: int = Field(default=5, ge=1)
    breaker_open_seconds: float = Field(default=5.0, gt=0)


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
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="ignore"
    )

    db: DbSettings = DbSettings()
    redis: RedisSettings = RedisSettings()
    celery: CelerySettings = CelerySettings()
    api: ApiSettings = ApiSettings()
    django: DjangoSettings = DjangoSettings()
    flask: FlaskSettings = FlaskSettings()
    worker: WorkerSettings = WorkerSettings()
    telemetry: TelemetrySettings = TelemetrySettings()
    flags: FlagSettings = FlagSettings()
    techniques: TechniqueSettings = TechniqueSettings()
    profiling: ProfilingSettings = ProfilingSettings()
    # When set, every state-changing request needs `Authorization: Bearer <token>`
    # (api/middleware/admin.py; docs/security.md).
    admin_token: SecretStr | None = None

    @field_validator("admin_token", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return value or None  # compose passes an unset token as ""

    @property
    def celery_broker_url(self) -> str:
        if self.celery.broker_url:
            return self.celery.broker_url
        base = self.redis.url.rsplit("/", 1)[0]
        return f"{base}/1"


@lru_cache
def get_settings() -> Settings:
    return Settings()


_FIELD = re.compile(r'field "(\w+)"')


def _variable(loc: tuple[int | str, ...]) -> str:
    return ENV_PREFIX + "__".join(str(part) for part in loc).upper()


def explain(exc: ValidationError | SettingsError) -> list[str]:
    """One line per bad setting: the variable, what it should be, what it was."""
    if isinstance(exc, SettingsError):
        # pydantic-settings could not even parse the value (a nested field given as a
        # plain string); its message names the field.
        found = _FIELD.search(str(exc))
        name = found.group(1) if found else "?"
        return [
            f"{ENV_PREFIX}{name.upper()}: expected a JSON object, or set its fields one by "
            f"one as {ENV_PREFIX}{name.upper()}__<FIELD> (e.g. {ENV_PREFIX}DB__POOL_MAX=20)"
        ]
    lines = []
    for error in exc.errors():
        got = error.get("input")
        shown = f" (got {got!r})" if isinstance(got, str | int | float) else ""
        lines.append(f"{_variable(error['loc'])}: {error['msg']}{shown}")
    return lines
