"""Settings of the native lab: where its state lives and which loopback ports it uses.

Read from `PERFLAB_*` like the services' settings: `PERFLAB_LAB__STATE_DIR=/tmp/lab`,
`PERFLAB_PORTS__API=8001`. Port defaults come from `perflab.settings`, so the lab and
the services agree on them without anyone setting anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from perflab.settings import (
    ApiSettings,
    DbSettings,
    DjangoSettings,
    FlaskSettings,
    RedisSettings,
    WorkerSettings,
)

REPO = Path(__file__).resolve().parents[3]


def _port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


class Ports(BaseModel):
    api: int = ApiSettings().port  # the FastAPI service
    django: int = DjangoSettings().port
    flask: int = FlaskSettings().port
    locust: int = 8089
    prometheus: int = 9090
    alertmanager: int = 9093
    grafana: int = 3000
    postgres: int = _port_of(DbSettings().dsn)
    redis: int = _port_of(RedisSettings().url)
    worker_metrics: int = WorkerSettings().metrics_port
    # Locust's Prometheus exporter (loadgen/metrics.py, DEFAULT_PORT).
    loadgen_metrics: int = 9646
    # The lab's console (perflab.console).
    console: int = 8090

    @staticmethod
    def env_var(name: str) -> str:
        return f"PERFLAB_PORTS__{name.upper()}"


class LabOptions(BaseModel):
    state_dir: Path = REPO / ".lab"
    # Worker processes of every web service (uvicorn's and gunicorn's --workers).
    api_workers: int = Field(default=2, ge=1)
    worker_concurrency: int = Field(default=2, ge=1)
    # 1.0 is sized so that the missing index on orders.user_id clearly shows.
    seed_scale: float = Field(default=1.0, gt=0)
    scrape_interval: str = "5s"
    startup_timeout_seconds: float = Field(default=60.0, gt=0)


class LabSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PERFLAB_", env_nested_delimiter="__", extra="ignore"
    )

    lab: LabOptions = LabOptions()
    ports: Ports = Ports()


@dataclass(frozen=True)
class StatePaths:
    """The layout of the state folder: one pid file and one log per component."""

    root: Path

    def pid_file(self, component: str) -> Path:
        return self.root / "run" / f"{component}.pid"

    def log_file(self, component: str) -> Path:
        return self.root / "logs" / f"{component}.log"

    def data(self, component: str) -> Path:
        return self.root / component

    @property
    def marker(self) -> Path:
        # Proves a folder is a lab state folder before `down --purge` deletes it.
        return self.root / ".perflab-lab"
