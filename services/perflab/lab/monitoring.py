"""Prometheus, Alertmanager and (where installed) Grafana, configured under the state folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from perflab.lab import health
from perflab.lab.components import Component, LabContext
from perflab.lab.config import REPO
from perflab.lab.prom_config import render_alertmanager_config, render_prometheus_config
from perflab.lab.services import SERVICES
from perflab.procs import start_process

RULE_FILES = str(REPO / "prometheus" / "rules" / "*.yml")
GRAFANA_PROVISIONING = REPO / "grafana" / "provisioning"
# Under Prometheus's folder: where `lab load` runs announce their metrics endpoint.
LOADGEN_SD = "loadgen"
# ...and where the lab's own tools (`lab fault`) announce theirs.
LAB_SD = "lab"


def _local(port: int) -> str:
    return f"127.0.0.1:{port}"


def _which(*names: str) -> str | None:
    return next((found for name in names if (found := shutil.which(name))), None)


def _binary_component(
    ctx: LabContext, name: str, binary: str | None, package: str, args: list[str]
) -> Component:
    port = getattr(ctx.ports, name)
    cmd = [binary or name, *args]
    log = ctx.paths.log_file(name)
    return Component(
        name=name,
        port=port,
        port_key=name,
        url=ctx.url(port),
        # The binary and its config file (under the state folder) name the process.
        match=(" ".join(cmd[:2]) + " ",),
        start=lambda: start_process(cmd, log_path=log, cwd=ctx.paths.data(name)),
        healthy=lambda: health.http_ok(f"{ctx.url(port)}/-/ready"),
        paths=ctx.paths,
        binary=binary,
        package=package,
    )


def prometheus(ctx: LabContext) -> Component:
    home = ctx.paths.data("prometheus")
    config = home / "prometheus.yml"
    ports = ctx.ports

    def prepare() -> None:
        (home / "data").mkdir(parents=True, exist_ok=True)
        # Made before Prometheus starts, so it watches the folder from the first moment
        # (a missing folder makes it log a file-watch error every refresh).
        (home / LOADGEN_SD).mkdir(exist_ok=True)
        (home / LAB_SD).mkdir(exist_ok=True)
        config.write_text(
            render_prometheus_config(
                api_targets=[_local(ports.api)],
                service_targets={
                    s.name: [_local(s.port(ports))] for s in SERVICES if s.name != "fastapi"
                },
                worker_targets=[_local(ports.worker_metrics)],
                alertmanager_targets=[_local(ports.alertmanager)],
                prometheus_target=_local(ports.prometheus),
                locust_targets=[_local(ports.loadgen_metrics)],
                # `lab load` runs announce their exporter here (see perflab.lab.prom_targets).
                locust_file_sd=str(home / LOADGEN_SD / "*.json"),
                lab_file_sd=str(home / LAB_SD / "*.json"),
                rule_files=[RULE_FILES],
                scrape_interval=ctx.cfg.lab.scrape_interval,
                evaluation_interval=ctx.cfg.lab.scrape_interval,
            )
        )

    component = _binary_component(
        ctx,
        "prometheus",
        _which("prometheus"),
        "prometheus",
        [
            f"--config.file={config}",
            f"--storage.tsdb.path={home / 'data'}",
            f"--web.listen-address={_local(ports.prometheus)}",
            # Alert links (generatorURL) point here, not at this machine's host name.
            f"--web.external-url={ctx.url(ports.prometheus)}",
            "--web.enable-lifecycle",
        ],
    )
    component.prepare = prepare
    return component


def alertmanager(ctx: LabContext) -> Component:
    home = ctx.paths.data("alertmanager")
    config = home / "alertmanager.yml"

    def prepare() -> None:
        (home / "data").mkdir(parents=True, exist_ok=True)
        # The webhook is a write: with an admin token, Alertmanager must send it.
        token = os.environ.get("PERFLAB_ADMIN_TOKEN")
        credentials = ctx.secrets.keep_admin_token(token)
        config.write_text(
            render_alertmanager_config(
                f"{ctx.api_url}/alerts/webhook", credentials_file=credentials
            )
        )

    component = _binary_component(
        ctx,
        "alertmanager",
        _which("prometheus-alertmanager", "alertmanager"),
        "prometheus-alertmanager",
        [
            f"--config.file={config}",
            f"--storage.path={home / 'data'}",
            f"--web.listen-address={_local(ctx.ports.alertmanager)}",
            f"--web.external-url={ctx.url(ctx.ports.alertmanager)}",
            # An empty address turns clustering (and its port 9094) off.
            "--cluster.listen-address=",
        ],
    )
    component.prepare = prepare
    return component


def _grafana_ini(ctx: LabContext, home: Path) -> str:
    provisioning = GRAFANA_PROVISIONING if GRAFANA_PROVISIONING.exists() else home / "provisioning"
    return "\n".join(
        [
            "[server]",
            "http_addr = 127.0.0.1",
            f"http_port = {ctx.ports.grafana}",
            "[paths]",
            f"data = {home / 'data'}",
            f"logs = {home / 'logs'}",
            f"plugins = {home / 'plugins'}",
            f"provisioning = {provisioning}",
            "[analytics]",
            "reporting_enabled = false",
            "check_for_updates = false",
            "[auth.anonymous]",
            "enabled = true",
            "org_role = Viewer",
            "",
        ]
    )


def grafana(ctx: LabContext) -> Component:
    home = ctx.paths.data("grafana")
    ini = home / "grafana.ini"
    binary = _which("grafana", "grafana-server")
    homepath = "/usr/share/grafana"
    if binary and not Path(homepath).exists():
        homepath = str(Path(binary).resolve().parent.parent)
    subcommand = ["server"] if binary and Path(binary).name == "grafana" else []
    port = ctx.ports.grafana
    cmd = [binary or "grafana", *subcommand, "--config", str(ini), "--homepath", homepath]
    log = ctx.paths.log_file("grafana")
    # grafana/provisioning's datasource reads the Prometheus URL from this variable.
    env = dict(os.environ, PERFLAB_PROMETHEUS_URL=ctx.url(ctx.ports.prometheus))

    def prepare() -> None:
        for sub in ("data", "logs", "plugins", "provisioning"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        ini.write_text(_grafana_ini(ctx, home))

    return Component(
        name="grafana",
        port=port,
        port_key="grafana",
        url=ctx.url(port),
        match=(f"--config {ini} ",),
        start=lambda: start_process(cmd, log_path=log, env=env, cwd=home),
        healthy=lambda: health.http_ok(f"{ctx.url(port)}/api/health"),
        paths=ctx.paths,
        binary=binary,
        package="grafana (from Grafana's apt repository, https://apt.grafana.com)",
        prepare=prepare,
        optional=True,
    )
