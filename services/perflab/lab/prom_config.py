"""Prometheus and Alertmanager configuration for the native lab and the tests.

`prometheus/prometheus.yml` and `prometheus/alertmanager.yml` are written for the
Docker stack (service names); natively every component is on 127.0.0.1, so the same
jobs are rendered here with static targets. Job names are shared by both: the alert
rules use them (`api`, `django`, `worker`). Each web service's job adds a `service`
target label (`lab.services`), so every series says which service it came from. The
alert rules are never edited for tests: `render_rules` writes a copy with short `for:`
and, if asked, other thresholds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from perflab.lab.services import by_name

PROMETHEUS_DIR = Path(__file__).resolve().parents[3] / "prometheus"
RULES_DIR = PROMETHEUS_DIR / "rules"
ALERTMANAGER_FILE = PROMETHEUS_DIR / "alertmanager.yml"
THRESHOLD_METRIC = "perflab:alert_threshold"


def rule_files(rules_dir: Path = RULES_DIR) -> list[str]:
    """Absolute paths of the lab's recording, threshold and alert rule files."""
    return sorted(str(path) for path in rules_dir.glob("*.yml"))


def _job(
    name: str, targets: Sequence[str], scrape_interval: str, labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    static: dict[str, Any] = {"targets": list(targets)}
    if labels:
        static["labels"] = dict(labels)
    return {"job_name": name, "scrape_interval": scrape_interval, "static_configs": [static]}


def _service_jobs(
    api_targets: Sequence[str], service_targets: Mapping[str, Sequence[str]], interval: str
) -> list[dict[str, Any]]:
    """One job per web service, its series labelled `service="<name>"`."""
    targets = {"fastapi": list(api_targets)}
    for name, more in service_targets.items():
        targets.setdefault(name, []).extend(more)
    jobs = []
    for name, hosts in targets.items():
        service = by_name(name)
        jobs.append(_job(service.job, hosts, interval, {"service": service.name}))
    return jobs


def render_prometheus_config(
    *,
    api_targets: list[str],
    worker_targets: list[str],
    service_targets: Mapping[str, Sequence[str]] | None = None,
    alertmanager_targets: list[str],
    prometheus_target: str,
    locust_targets: list[str] | None = None,
    locust_file_sd: str | None = None,
    lab_file_sd: str | None = None,
    rule_files: list[str],
    scrape_interval: str = "5s",
    evaluation_interval: str = "5s",
) -> str:
    """`api_targets`: the FastAPI service's; `service_targets`: other web services' by
    service name (`{"django": ["127.0.0.1:8001"]}`). `locust_file_sd`: a glob of file_sd
    target files; each `lab load` run adds one. `lab_file_sd`: the same for the lab's own
    tools (`lab fault`), job `lab`."""
    jobs = [
        *_service_jobs(api_targets, service_targets or {}, scrape_interval),
        _job("worker", worker_targets, scrape_interval),
        _job("prometheus", [prometheus_target], scrape_interval),
        _job("alertmanager", alertmanager_targets, scrape_interval),
    ]
    if locust_targets or locust_file_sd:
        locust = _job("locust", locust_targets or [], scrape_interval)
        if locust_file_sd:
            locust["file_sd_configs"] = [{"files": [locust_file_sd], "refresh_interval": "5s"}]
        jobs.append(locust)
    if lab_file_sd:
        lab = _job("lab", [], scrape_interval)
        del lab["static_configs"]
        lab["file_sd_configs"] = [{"files": [lab_file_sd], "refresh_interval": "5s"}]
        jobs.append(lab)
    config = {
        "global": {
            "scrape_interval": scrape_interval,
            "evaluation_interval": evaluation_interval,
            "external_labels": {"lab": "perflab"},
        },
        "rule_files": list(rule_files),
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": alertmanager_targets}]}]},
        "scrape_configs": jobs,
    }
    return yaml.safe_dump(config, sort_keys=False)


def render_alertmanager_config(
    webhook_url: str,
    *,
    credentials_file: Path | None = None,
    group_wait: str | None = None,
    group_interval: str | None = None,
    repeat_interval: str | None = None,
    source: Path = ALERTMANAGER_FILE,
) -> str:
    """prometheus/alertmanager.yml with the lab's webhook URL, the admin token's file (or
    no authorization when the API has no token) and, optionally, faster timings."""
    config = yaml.safe_load(source.read_text())
    for receiver in config["receivers"]:
        for webhook in receiver.get("webhook_configs", []):
            webhook["url"] = webhook_url
            webhook.pop("http_config", None)
            if credentials_file is not None:
                webhook["http_config"] = {
                    "authorization": {"type": "Bearer", "credentials_file": str(credentials_file)}
                }
    timings = {
        "group_wait": group_wait,
        "group_interval": group_interval,
        "repeat_interval": repeat_interval,
    }
    config["route"].update({key: value for key, value in timings.items() if value is not None})
    return yaml.safe_dump(config, sort_keys=False)


def _override_thresholds(group: dict[str, Any], thresholds: dict[str, float]) -> None:
    for rule in group["rules"]:
        name = rule.get("labels", {}).get("threshold")
        if rule.get("record") == THRESHOLD_METRIC and name in thresholds:
            rule["expr"] = f"vector({thresholds.pop(name)!r})"


def render_rules(
    dest_dir: Path,
    *,
    alert_for: str | None = None,
    thresholds: Mapping[str, float] | None = None,
    rules_dir: Path = RULES_DIR,
) -> list[str]:
    """Copy the rule files into `dest_dir`, every alert's `for:` set to `alert_for`
    and the named thresholds replaced; return the copies' paths for `rule_files`.

    For tests and demos that cannot wait minutes; an unknown threshold name is an error.
    """
    pending = dict(thresholds or {})
    dest_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted(rules_dir.glob("*.yml")):
        content = yaml.safe_load(source.read_text())
        for group in content["groups"]:
            _override_thresholds(group, pending)
            for rule in group["rules"]:
                if "alert" in rule and alert_for is not None:
                    rule["for"] = alert_for
        target = dest_dir / source.name
        target.write_text(yaml.safe_dump(content, sort_keys=False))
        written.append(str(target))
    if pending:
        raise ValueError(f"unknown thresholds: {', '.join(sorted(pending))}")
    return written
