"""The console's component: one page for every web service the lab runs (`services`).

Apart from the other Python processes (`apps`) because it lists the services, whose
own builders live there.
"""

from __future__ import annotations

import json
import os
import shutil
import sys

from perflab.lab import health
from perflab.lab.apps import identity
from perflab.lab.components import Component, LabContext
from perflab.lab.config import REPO
from perflab.lab.services import SERVICES
from perflab.procs import start_process


def console_env(ctx: LabContext) -> dict[str, str]:
    """What the console reads (perflab.console.config), unless the user set it already."""
    ports = ctx.ports
    grafana = shutil.which("grafana") or shutil.which("grafana-server")
    # The first service, FastAPI, is the one that flips the flags.
    shown = [
        {"name": s.name, "url": s.url(ports), "job": s.job, "docs_path": s.docs_path}
        for s in SERVICES
    ]
    wanted = {
        "PERFLAB_CONSOLE__PORT": str(ports.console),
        "PERFLAB_CONSOLE__SERVICES": json.dumps(shown),
        "PERFLAB_CONSOLE__PROMETHEUS_URL": ctx.url(ports.prometheus),
        "PERFLAB_CONSOLE__ALERTMANAGER_URL": ctx.url(ports.alertmanager),
        "PERFLAB_CONSOLE__LOCUST_URL": ctx.url(ports.locust),
        "PERFLAB_CONSOLE__GRAFANA_URL": ctx.url(ports.grafana) if grafana else "",
    }
    return {key: value for key, value in wanted.items() if key not in os.environ}


def console(ctx: LabContext) -> Component:
    port = ctx.ports.console
    cmd = [
        sys.executable, "-m", "uvicorn", "perflab.console.app:app_factory", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
    ]  # fmt: skip
    log = ctx.paths.log_file("console")
    env = ctx.service_env(**console_env(ctx))
    url = ctx.url(port)
    return Component(
        name="console",
        port=port,
        port_key="console",
        url=url,
        match=identity(cmd, 5),
        start=lambda: start_process(cmd, log_path=log, env=env, cwd=REPO),
        healthy=lambda: health.http_ok(f"{url}/healthz"),
        paths=ctx.paths,
    )
