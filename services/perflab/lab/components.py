"""What the runner knows about each component: how to start it, probe it and find it.

The concrete components are built in `datastores`, `apps` and `monitoring`; the
runner (`stack`) only sees this interface.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from perflab.lab import pidfiles
from perflab.lab.config import LabSettings, Ports, StatePaths
from perflab.lab.postgres import dsn as pg_dsn
from perflab.lab.secrets import POSTGRES_APP, REDIS, LabSecrets
from perflab.settings import DbSettings, RedisSettings, Settings


@dataclass
class Component:
    name: str
    port: int
    port_key: str  # field of `Ports`, names the env var that moves it
    url: str
    # Substrings of /proc/<pid>/cmdline, any of which proves a recorded pid is still ours.
    match: tuple[str, ...]
    start: Callable[[], subprocess.Popen[bytes]]
    healthy: Callable[[], bool]
    paths: StatePaths
    # None: the binary is missing; `package` says what provides it.
    binary: str | None = "python"
    package: str | None = None
    prepare: Callable[[], None] | None = None
    close: Callable[[], None] | None = None
    stop_signal: int = signal.SIGTERM
    # Optional components (Grafana) are reported as not installed instead of failing.
    optional: bool = False
    # Other ports it listens on, by `Ports` field (e.g. Locust's metrics exporter).
    extra_ports: dict[str, int] = field(default_factory=dict)

    @property
    def pid_file(self) -> Path:
        return self.paths.pid_file(self.name)

    @property
    def log(self) -> Path:
        return self.paths.log_file(self.name)

    @property
    def port_env(self) -> str:
        return Ports.env_var(self.port_key)

    def ports(self) -> dict[str, int]:
        """Every port it listens on, by `Ports` field."""
        return {self.port_key: self.port, **self.extra_ports}

    def running_pid(self) -> int | None:
        return pidfiles.running_pid(self.pid_file, self.match)

    def probe(self, attempts: int = 3) -> bool:
        """One health verdict; a few tries, so a busy machine is not reported as down."""
        for attempt in range(attempts):
            try:
                if self.healthy():
                    return True
            except Exception:  # noqa: BLE001 - any failure of a probe means "not healthy"
                pass
            if attempt + 1 < attempts:
                time.sleep(0.5)
        return False


@dataclass(frozen=True)
class LabContext:
    """Everything the component builders need, derived once from the lab settings."""

    cfg: LabSettings
    paths: StatePaths

    @classmethod
    def load(cls, cfg: LabSettings | None = None) -> LabContext:
        cfg = cfg or LabSettings()
        return cls(cfg, StatePaths(cfg.lab.state_dir.resolve()))

    @property
    def ports(self) -> Ports:
        return self.cfg.ports

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}"

    @property
    def api_url(self) -> str:
        return self.url(self.ports.api)

    @property
    def secrets(self) -> LabSecrets:
        return LabSecrets.under(self.paths.root)

    @property
    def db_dsn(self) -> str:
        """Without its password (shown in tables); `service_settings` has the full one."""
        return pg_dsn(self.ports.postgres)

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.ports.redis}/0"

    def service_env(self, **extra: str) -> dict[str, str]:
        """The environment of the services and the worker: the user's `PERFLAB_*` plus the lab's."""
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        env.update(
            PERFLAB_DB__DSN=self.db_dsn,
            PERFLAB_DB__PASSWORD_FILE=str(self.secrets.path(POSTGRES_APP)),
            PERFLAB_REDIS__URL=self.redis_url,
            PERFLAB_REDIS__PASSWORD_FILE=str(self.secrets.path(REDIS)),
            PERFLAB_API__PORT=str(self.ports.api),
            PERFLAB_DJANGO__PORT=str(self.ports.django),
            PERFLAB_DJANGO__WORKERS=str(self.cfg.lab.api_workers),
            PERFLAB_FLASK__PORT=str(self.ports.flask),
            PERFLAB_FLASK__WORKERS=str(self.cfg.lab.api_workers),
            PERFLAB_WORKER__METRICS_PORT=str(self.ports.worker_metrics),
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def service_settings(self) -> Settings:
        """The settings the lab's services see (passwords read from the secrets, which
        must exist: call it once `lab up` has made them)."""
        return Settings(
            db=DbSettings(dsn=self.db_dsn, password_file=self.secrets.path(POSTGRES_APP)),
            redis=RedisSettings(url=self.redis_url, password_file=self.secrets.path(REDIS)),
        )
