"""The lab's Python processes: the API (uvicorn), the Django and Flask services (gunicorn),
the Celery worker, the Locust web UI. (The console, which lists every web service, is
built in `console_app`.)"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from perflab.lab import health
from perflab.lab.components import Component, LabContext
from perflab.lab.config import REPO
from perflab.procs import start_process

LOCUSTFILE = REPO / "loadgen" / "locustfile.py"
LOCUST_CONF = REPO / "loadgen" / "locust.conf"


def identity(cmd: list[str], upto: int) -> tuple[str, ...]:
    """The leading arguments that name the process (options after them may change)."""
    return (" ".join(cmd[:upto]) + " ",)


def _fresh(folder: Path) -> None:
    # prometheus_client's multiprocess files must not outlive the processes that wrote them.
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


def api(ctx: LabContext) -> Component:
    port = ctx.ports.api
    metrics_dir = ctx.paths.data("metrics") / "api"
    cmd = [
        sys.executable, "-m", "uvicorn", "perflab.api.app:app_factory", "--factory",
        "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(ctx.cfg.lab.api_workers), "--no-access-log",
    ]  # fmt: skip
    log = ctx.paths.log_file("api")
    env = ctx.service_env(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    return Component(
        name="api",
        port=port,
        port_key="api",
        url=ctx.api_url,
        match=identity(cmd, 9),
        start=lambda: start_process(cmd, log_path=log, env=env, cwd=REPO),
        healthy=lambda: health.http_ok(f"{ctx.api_url}/readyz"),
        paths=ctx.paths,
        prepare=lambda: _fresh(metrics_dir),
    )


def _web_service(
    ctx: LabContext,
    name: str,
    port: int,
    cmd: list[str],
    env: dict[str, str],
    match: tuple[str, ...],
    metrics_dir: Path,
) -> Component:
    """A gunicorn-served web service: healthy when `/readyz` answers, its multiprocess
    metrics folder wiped before each start."""
    url = ctx.url(port)
    return Component(
        name=name,
        port=port,
        port_key=name,
        url=url,
        match=match,
        start=lambda: start_process(cmd, log_path=ctx.paths.log_file(name), env=env, cwd=REPO),
        healthy=lambda: health.http_ok(f"{url}/readyz"),
        paths=ctx.paths,
        prepare=lambda: _fresh(metrics_dir),
    )  # fmt: skip


def django(ctx: LabContext) -> Component:
    port = ctx.ports.django
    metrics_dir = ctx.paths.data("metrics") / "django"
    cmd = [
        sys.executable, "-m", "gunicorn", "perflab.django_service.wsgi:application",
        "--config", "python:perflab.django_service.gunicorn_conf",
        "--bind", f"127.0.0.1:{port}", "--workers", str(ctx.cfg.lab.api_workers),
    ]  # fmt: skip
    env = ctx.service_env(
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        PERFLAB_DJANGO__STATIC_ROOT=str(ctx.paths.data("django") / "static"),
    )
    return _web_service(ctx, "django", port, cmd, env, identity(cmd, 7), metrics_dir)


def flask(ctx: LabContext) -> Component:
    port = ctx.ports.flask
    metrics_dir = ctx.paths.data("metrics") / "flask"
    # gthread workers, PERFLAB_FLASK__THREADS threads each (the config file's defaults),
    # as many processes as the other services.
    cmd = [
        sys.executable, "-m", "gunicorn", "--config", "python:perflab.flask_service.gunicorn_conf",
        "--bind", f"127.0.0.1:{port}", "--workers", str(ctx.cfg.lab.api_workers),
    ]  # fmt: skip
    env = ctx.service_env(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    return _web_service(ctx, "flask", port, cmd, env, identity(cmd, 6), metrics_dir)


def worker(ctx: LabContext) -> Component:
    port = ctx.ports.worker_metrics
    metrics_dir = ctx.paths.data("metrics") / "worker"
    cmd = [
        sys.executable, "-m", "celery", "-A", "perflab.worker.app:celery_app", "worker",
        "-n", f"lab-{port}@%h", "--loglevel=INFO", "--without-gossip", "--without-mingle",
        f"--concurrency={ctx.cfg.lab.worker_concurrency}",
    ]  # fmt: skip
    log = ctx.paths.log_file("worker")
    env = ctx.service_env(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    url = ctx.url(port)
    pings: list[health.CeleryPing] = []  # made on first use: the secrets exist by then

    def healthy() -> bool:
        # /metrics first: it is cheap, and a ping before the worker runs only queues up.
        if not health.http_ok(f"{url}/metrics"):
            return False
        if not pings:
            settings = ctx.service_settings()
            pings.append(health.CeleryPing(settings.celery_broker_url, settings.celery.queue))
        return pings[0]()

    def close() -> None:
        for ping in pings:
            ping.close()

    return Component(
        name="worker",
        port=port,
        port_key="worker_metrics",
        url=f"{url}/metrics",
        match=identity(cmd, 8),
        start=lambda: start_process(cmd, log_path=log, env=env, cwd=REPO),
        healthy=healthy,
        paths=ctx.paths,
        prepare=lambda: _fresh(metrics_dir),
        close=close,
    )


def locust(ctx: LabContext) -> Component:
    port = ctx.ports.locust
    cmd = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE),
        "--web-host", "127.0.0.1", "--web-port", str(port), "--host", ctx.api_url,
    ]  # fmt: skip
    if LOCUST_CONF.exists():
        # Command-line options above win over the file's.
        cmd += ["--config", str(LOCUST_CONF)]
    exporter = ctx.ports.loadgen_metrics
    env = ctx.service_env(PERFLAB_LOADGEN_METRICS_PORT=str(exporter))
    log = ctx.paths.log_file("locust")
    url = ctx.url(port)
    return Component(
        name="locust",
        port=port,
        port_key="locust",
        url=url,
        match=identity(cmd, 9),
        start=lambda: start_process(cmd, log_path=log, env=env, cwd=REPO),
        healthy=lambda: health.http_ok(url) and health.http_ok(f"{ctx.url(exporter)}/metrics"),
        paths=ctx.paths,
        extra_ports={"loadgen_metrics": exporter},
    )
