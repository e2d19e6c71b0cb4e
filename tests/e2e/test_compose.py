"""`docker compose up` runs the whole lab: a real compose run on local stand-in images.

No image registry is reachable here, so `scripts/docker-standins` builds stand-ins for
the pinned upstream images (a debootstrap Debian base; Debian's Postgres, Redis,
Prometheus, Alertmanager, HAProxy and Python behind the upstream images' command lines,
environment, paths and users) and the wheelhouse the lab's own images install from
offline; `docker/standins.env` swaps them in through compose.yaml's image variables,
compose.yaml itself is used as committed. Every service but Grafana and Jaeger (no
Debian package of either) starts with `up --wait`, with two API replicas, the Django
and Flask services and two Locust workers, on free loopback ports under a project name
of its own. Then: `lab smoke` passes against the three web services, Prometheus scrapes
every target (each API replica, Django, Flask, each labelled with its service) and
loaded every rule group, the gateway spreads requests over the replicas, and an alert posted to
Alertmanager reaches the API's webhook. `down -v` removes it all; the images stay as a
cache. The engine is the one that answers, or a dockerd started (and stopped) here.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from perflab.experiment import pinning
from perflab.lab.docker import ComposeStack, DockerError, engine_answers
from perflab.procs import free_port, stop_pid, wait_until
from tests.support.servers import REPO, TEST_SEED_SCALE

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(1200)]

SERVICES = (
    "postgres", "redis", "seed", "api", "django", "flask", "worker", "gateway",
    "prometheus", "alertmanager", "locust", "locust-worker", "console",
)  # fmt: skip
# Started as dependencies of the above: one-shot jobs that exit 0.
ONE_SHOT = ("secrets",)
API_REPLICAS = 2
LOCUST_WORKERS = 2
JOBS = {"api", "django", "flask", "worker", "prometheus", "alertmanager", "locust"}
TIMINGS: dict[str, float] = {}


def _timed(phase: str, began: float) -> None:
    TIMINGS[phase] = time.monotonic() - began
    print(f"compose e2e: {phase} took {TIMINGS[phase]:.1f} s")


@pytest.fixture(scope="module")
def docker_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The Docker engine that answers, or a dockerd started here and stopped afterwards."""
    if engine_answers():
        yield
        return
    dockerd = shutil.which("dockerd")
    if shutil.which("docker") is None or dockerd is None or os.geteuid() != 0:
        pytest.skip(
            "no Docker engine answers and none can be started here "
            "(needs the docker client, dockerd and root: apt-get install docker.io)"
        )
    log = tmp_path_factory.mktemp("dockerd") / "dockerd.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [dockerd], stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def alive() -> bool:
        return proc.poll() is None

    try:
        if not wait_until(engine_answers, timeout=60, interval=0.5, alive=alive):
            tail = log.read_text(errors="replace").splitlines()[-5:]
            pytest.skip("no Docker engine can be started here: " + " | ".join(tail))
        yield
    finally:
        stop_pid(proc.pid, timeout=30)


@pytest.fixture(scope="module")
def stack(docker_engine: None) -> Iterator[ComposeStack]:
    began = time.monotonic()
    prepared = subprocess.run(
        [str(REPO / "scripts" / "docker-standins")],
        cwd=REPO, env=os.environ | {"PYTHON": sys.executable},
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    print(prepared.stdout)
    if prepared.returncode != 0:
        pytest.fail(f"scripts/docker-standins failed:\n{prepared.stdout}\n{prepared.stderr}")
    _timed("stand-in images and wheelhouse", began)

    ports = {
        key: str(free_port())
        for key in ("api", "django", "flask", "locust", "prometheus", "alertmanager")
    }
    ports |= {"grafana": str(free_port()), "jaeger": str(free_port()), "console": str(free_port())}
    compose = ComposeStack(
        project=f"perflab-e2e-{os.getpid()}",
        env_files=[REPO / "docker" / "standins.env"],
        api_replicas=API_REPLICAS,
        locust_workers=LOCUST_WORKERS,
        services=SERVICES,
        quiet=True,
        extra_env={f"PERFLAB_PORTS__{key.upper()}": port for key, port in ports.items()}
        | {
            "PERFLAB_LAB__SEED_SCALE": str(TEST_SEED_SCALE),
            # Jaeger is not started: no trace export.
            "PERFLAB_COMPOSE_OTLP_ENDPOINT": "",
            "GRAFANA_ADMIN_PASSWORD": secrets.token_urlsafe(12),
        },
    )
    began = time.monotonic()
    try:
        compose.up(wait_seconds=240)
        _timed("compose build + up --wait", began)
        yield compose
    except DockerError:
        print(compose.run("logs", "--no-color", "--tail", "40", capture=True))
        raise
    finally:
        began = time.monotonic()
        compose.down(volumes=True)
        _timed("compose down -v", began)


def test_every_service_is_healthy_and_the_seed_job_succeeded(stack: ComposeStack) -> None:
    rows = stack.status()
    by_service: dict[str, list[str]] = {}
    for row in rows:
        assert row.ok, f"{row.name}: {row.state} {row.health} (exit {row.exit_code})"
        by_service.setdefault(row.service, []).append(row.name)
    assert set(by_service) == set(SERVICES) | set(ONE_SHOT)
    assert len(by_service["api"]) == API_REPLICAS
    assert len(by_service["locust-worker"]) == LOCUST_WORKERS
    seed = next(r for r in rows if r.service == "seed")
    assert (seed.state, seed.exit_code) == ("exited", 0)


def test_lab_smoke_passes_against_the_compose_stack(stack: ComposeStack) -> None:
    urls = stack.urls()
    began = time.monotonic()
    ports = {
        f"PERFLAB_PORTS__{name.upper()}": urls[name].rsplit(":", 1)[1]
        for name in ("django", "flask")
    }
    done = subprocess.run(
        [sys.executable, "-m", "perflab.lab.cli", "smoke", "--api", urls["api"],
         "--service", "fastapi", "--service", "django", "--service", "flask",
         "--prometheus", urls["prometheus"], "--console", urls["console"], "--burst", "5"],
        cwd=REPO, capture_output=True, text=True, timeout=400, check=False,
        env=os.environ | ports,
    )  # fmt: skip
    _timed("lab smoke", began)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "smoke: all" in done.stdout
    assert "django technique static_files" in done.stdout
    assert "flask technique async_views" in done.stdout
    assert "a flip of n_plus_one reaches every flask process" in done.stdout


def _targets(prometheus: str) -> list[dict]:
    answer = httpx.get(f"{prometheus}/api/v1/targets", timeout=10).json()
    return list(answer["data"]["activeTargets"])


def test_prometheus_scrapes_every_target_and_loads_every_rule_group(stack: ComposeStack) -> None:
    prometheus = stack.urls()["prometheus"]

    def settled() -> bool:
        # dns_sd refreshes every 15 s: replicas and Locust appear within that.
        targets = _targets(prometheus)
        jobs = [t["labels"]["job"] for t in targets]
        return (
            set(jobs) == JOBS
            and jobs.count("api") == API_REPLICAS
            and all(t["health"] == "up" for t in targets)
        )

    wait_until(settled, timeout=60, interval=1)
    targets = _targets(prometheus)
    down = [(t["scrapeUrl"], t["health"], t["lastError"]) for t in targets if t["health"] != "up"]
    assert not down
    jobs = [t["labels"]["job"] for t in targets]
    assert set(jobs) == JOBS
    assert jobs.count("api") == API_REPLICAS
    services = {t["labels"]["job"]: t["labels"].get("service") for t in targets}
    assert services["api"] == "fastapi" and services["django"] == "django"
    assert services["flask"] == "flask"
    assert services["worker"] is None

    expected = {
        group["name"]
        for path in (REPO / "prometheus" / "rules").glob("*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
    }
    groups = httpx.get(f"{prometheus}/api/v1/rules", timeout=10).json()["data"]["groups"]
    assert expected
    assert {g["name"] for g in groups} == expected
    assert all(g["rules"] for g in groups)


def test_gateway_spreads_requests_over_every_api_replica(stack: ComposeStack) -> None:
    urls = stack.urls()
    for _ in range(10 * API_REPLICAS):
        assert httpx.get(f"{urls['api']}/techniques", timeout=10).status_code == 200
    query = 'sum by (instance) (perflab_http_requests_total{job="api",route="/techniques"})'

    def per_replica() -> dict[str, float]:
        answer = httpx.get(
            f"{urls['prometheus']}/api/v1/query", params={"query": query}, timeout=10
        ).json()
        return {r["metric"]["instance"]: float(r["value"][1]) for r in answer["data"]["result"]}

    wait_until(lambda: len(per_replica()) == API_REPLICAS, timeout=45, interval=1)
    counts = per_replica()
    assert len(counts) == API_REPLICAS, counts
    assert all(count >= 1 for count in counts.values()), counts


def test_an_alert_reaches_the_api_webhook_through_alertmanager(stack: ComposeStack) -> None:
    urls = stack.urls()
    name = f"ComposeE2E{secrets.token_hex(4)}"
    alert = [{"labels": {"alertname": name, "severity": "info", "job": "compose-e2e"},
              "annotations": {"summary": "posted by tests/e2e/test_compose.py"}}]  # fmt: skip
    posted = httpx.post(f"{urls['alertmanager']}/api/v2/alerts", json=alert, timeout=10)
    assert posted.status_code == 200, posted.text

    def received() -> bool:
        alerts = httpx.get(f"{urls['api']}/alerts", timeout=10).json()["alerts"]
        return any(a["alertname"] == name for a in alerts)

    # Alertmanager's group_wait is 10 s.
    assert wait_until(received, timeout=60, interval=1), f"{name} never reached GET /alerts"


def test_an_experiment_from_the_host_does_not_take_dockers_port_forwarder_for_the_api(
    stack: ComposeStack,
) -> None:
    # With Docker's userland proxy the host's listener on the API port is docker-proxy:
    # its CPU and sockets are not the API's, so the experiment treats the API as remote.
    api = stack.urls()["api"]
    holders = pinning.port_holders(int(api.rsplit(":", 1)[1]))
    if not holders:
        pytest.skip("this Docker publishes ports without a userland proxy (no host listener)")
    assert {name for _, name in holders} <= pinning.FORWARDERS, holders
    assert pinning.api_roots(api) == []


def test_images_run_as_non_root(stack: ComposeStack) -> None:
    for service in ("api", "django", "flask", "worker", "locust"):
        user = stack.run("exec", "-T", "--index", "1", service, "id", "-u", capture=True)
        assert user.strip() != "0", service


def test_py_spy_samples_an_api_container_under_load(stack: ComposeStack, tmp_path: Path) -> None:
    # What `lab profile api --docker` runs: py-spy inside the container (SYS_PTRACE).
    from perflab.lab.profiling import sampler
    from perflab.profile import speedscope

    api = stack.urls()["api"]
    stop = time.monotonic() + 6

    def load() -> None:
        with httpx.Client(base_url=api, timeout=30) as client:
            while time.monotonic() < stop:
                client.get("/books", params={"limit": 50})

    threads = [threading.Thread(target=load, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    out = tmp_path / "profile.speedscope.json"
    recording = sampler.record_in_container(stack, "api", 1, out, seconds=3, rate=100)
    for thread in threads:
        thread.join(timeout=30)
    samples = speedscope.load(out)
    assert recording.samples > 0 and samples.count > 0
    assert any(row.lab_code for row in speedscope.rows(samples)), "no frame of the lab's code"
