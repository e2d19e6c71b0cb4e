"""Settings of the console: which services it shows, where the monitoring lives.

Read from `PERFLAB_*` like every other perflab process: `PERFLAB_CONSOLE__PROMETHEUS_URL`,
`PERFLAB_CONSOLE__SERVICES='[{"name": "fastapi", "url": "http://127.0.0.1:8000"}]'`.
`lab up` and compose.yaml set them; the defaults are the native lab's default ports.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from perflab.settings import ApiSettings

REPO = Path(__file__).resolve().parents[3]


class ServiceRef(BaseModel):
    """One web service of the lab: its techniques, flags and docs live at `url`."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,30}$")
    url: str
    # Its Prometheus job (the `job` label of its series), to keep figures per service.
    job: str = "api"
    # Where a browser opens it, when that differs from `url` (compose: service names).
    public_url: str | None = None
    # Its interactive API docs, if it has any (FastAPI's /docs; Django and Flask: none).
    docs_path: str | None = "/docs"

    @property
    def browser_url(self) -> str:
        return self.public_url or self.url


def _local(port: int) -> str:
    return f"http://127.0.0.1:{port}"


class ConsoleOptions(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8090
    services: list[ServiceRef] = Field(
        default_factory=lambda: [ServiceRef(name="fastapi", url=_local(ApiSettings().port))],
        min_length=1,
    )
    # Flags are shared by every service (one Redis); this service's API lists and flips
    # them (`GET /flags`, `PUT /flags/{name}`, `GET /flags/history`). Default: the first.
    flags_service: str | None = None
    prometheus_url: str = _local(9090)
    alertmanager_url: str | None = _local(9093)
    # Links only (the console never reads them): None hides the link.
    grafana_url: str | None = None
    locust_url: str | None = _local(8089)
    jaeger_url: str | None = None
    # What a browser opens for Prometheus / Alertmanager when the console reaches them
    # under another name (compose).
    prometheus_public_url: str | None = None
    alertmanager_public_url: str | None = None
    results_dir: Path = REPO / "results"
    # Bounds of the runs started from the page (one at a time).
    max_users: int = Field(default=50, ge=1)
    max_load_seconds: int = Field(default=300, ge=5)
    max_experiment_seconds: int = Field(default=60, ge=2)
    max_experiment_repeats: int = Field(default=3, ge=1)
    # The window of the live figures.
    window_seconds: int = Field(default=300, ge=60)


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PERFLAB_", env_nested_delimiter="__", extra="ignore"
    )

    console: ConsoleOptions = ConsoleOptions()
    # The API's own setting: when set, flips (and runs) need `Authorization: Bearer`.
    admin_token: SecretStr | None = None

    @field_validator("admin_token", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return value or None  # compose passes an unset token as ""

    def service(self, name: str) -> ServiceRef | None:
        return next((s for s in self.console.services if s.name == name), None)

    @property
    def flags_service(self) -> ServiceRef:
        chosen = self.console.flags_service
        found = self.service(chosen) if chosen else None
        return found or self.console.services[0]


@lru_cache
def get_settings() -> ConsoleSettings:
    return ConsoleSettings()
