"""Prometheus/Alertmanager configuration and rules, checked by the real tools.

promtool and amtool validate every file (as checked in, and as the native lab and
the tests render it); promtool runs the rule unit tests in prometheus/tests/; the
cross-file invariants (thresholds defined and used, every alert and recording rule
tested, the webhook's list of names) are checked here.
"""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from perflab.api.routes.alerts import ALERT_NAMES, STALE_AFTER
from perflab.lab.prom_config import (
    ALERTMANAGER_FILE,
    PROMETHEUS_DIR,
    RULES_DIR,
    render_alertmanager_config,
    render_prometheus_config,
    render_rules,
    rule_files,
)
from tests.support.monitoring import AMTOOL, PROMTOOL

pytestmark = pytest.mark.integration

TESTS_DIR = PROMETHEUS_DIR / "tests"
RUNBOOK = "https://github.com/perflab/perflab/blob/main/docs/alerts.md#runbook-{}"


def _run(*cmd: str | Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{cmd}:\n{done.stdout}\n{done.stderr}"
    return done


def _rules(path: Path) -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]


ALERT_RULES = _rules(RULES_DIR / "perflab.alerts.yml")
RECORDING_RULES = _rules(RULES_DIR / "perflab.rules.yml") + _rules(
    RULES_DIR / "thresholds.rules.yml"
)
UNIT_TESTS = sorted(TESTS_DIR.glob("*.test.yml"))


def test_promtool_checks_the_compose_config_and_its_relative_rule_files():
    done = _run(PROMTOOL, "check", "config", PROMETHEUS_DIR / "prometheus.yml")
    # rule_files are relative to the config file's folder: all of rules/ must be found.
    assert f"{len(rule_files())} rule files found" in done.stdout + done.stderr


def test_promtool_checks_the_native_config(tmp_path: Path):
    config = tmp_path / "prometheus.yml"
    config.write_text(
        render_prometheus_config(
            api_targets=["127.0.0.1:8000"],
            worker_targets=["127.0.0.1:9808"],
            service_targets={"django": ["127.0.0.1:8001"], "flask": ["127.0.0.1:8002"]},
            alertmanager_targets=["127.0.0.1:9093"],
            prometheus_target="127.0.0.1:9090",
            locust_targets=["127.0.0.1:8089"],
            rule_files=rule_files(),
            scrape_interval="1s",
            evaluation_interval="1s",
        )
    )
    done = _run(PROMTOOL, "check", "config", config)
    assert f"{len(rule_files())} rule files found" in done.stdout + done.stderr
    jobs = {job["job_name"] for job in yaml.safe_load(config.read_text())["scrape_configs"]}
    assert jobs == {"api", "django", "flask", "worker", "prometheus", "alertmanager", "locust"}


def test_promtool_checks_every_rule_file():
    _run(PROMTOOL, "check", "rules", *rule_files())


def test_promtool_unit_tests_pass():
    done = _run(PROMTOOL, "test", "rules", *UNIT_TESTS)
    assert done.stdout.count("SUCCESS") == len(UNIT_TESTS) >= 5


def test_amtool_checks_the_checked_in_and_the_rendered_alertmanager_config(tmp_path: Path):
    _run(AMTOOL, "check-config", ALERTMANAGER_FILE)
    rendered = tmp_path / "alertmanager.yml"
    rendered.write_text(
        render_alertmanager_config(
            "http://127.0.0.1:8123/alerts/webhook", group_wait="1s", group_interval="1s"
        )
    )
    done = _run(AMTOOL, "check-config", rendered)
    assert "3 inhibit rules" in done.stdout


def test_render_alertmanager_config_substitutes_url_and_timings_only():
    original = yaml.safe_load(ALERTMANAGER_FILE.read_text())
    rendered = yaml.safe_load(
        render_alertmanager_config("http://127.0.0.1:1/alerts/webhook", group_wait="1s")
    )
    hooks = [h for r in rendered["receivers"] for h in r.get("webhook_configs", [])]
    assert [h["url"] for h in hooks] == ["http://127.0.0.1:1/alerts/webhook"]
    assert rendered["route"]["group_wait"] == "1s"
    assert rendered["route"]["group_interval"] == original["route"]["group_interval"]
    assert rendered["inhibit_rules"] == original["inhibit_rules"]


def _duration(duration: str) -> timedelta:
    value, unit = re.fullmatch(r"(\d+)([smh])", duration).groups()  # type: ignore[union-attr]
    return timedelta(seconds=int(value) * {"s": 1, "m": 60, "h": 3600}[unit])


def test_the_receiver_calls_an_alert_stale_only_after_alertmanager_would_have_repeated_it():
    route = yaml.safe_load(ALERTMANAGER_FILE.read_text())["route"]
    repeated_within = _duration(route["repeat_interval"]) + 2 * _duration(route["group_interval"])
    assert repeated_within < STALE_AFTER <= repeated_within + timedelta(minutes=5)


def _unit_test_cases() -> list[dict[str, Any]]:
    return [case for path in UNIT_TESTS for case in yaml.safe_load(path.read_text())["tests"]]


def test_every_alert_has_a_firing_and_a_silent_unit_test():
    fires: set[str] = set()
    silent: set[str] = set()
    for case in _unit_test_cases():
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {rule["alert"] for rule in ALERT_RULES}
    assert names - fires == set(), "alerts without a case where they fire"
    assert names - silent == set(), "alerts without a case where they must not fire"


def test_every_recording_rule_has_an_expression_test():
    exprs = " ".join(
        check["expr"] for case in _unit_test_cases() for check in case.get("promql_expr_test", [])
    )
    untested = {rule["record"] for rule in RECORDING_RULES} - set(
        re.findall(r"[a-z_]+:[a-z0-9_]+(?::[a-z0-9_]+)?", exprs)
    )
    assert untested == set()


def test_thresholds_read_by_alerts_are_exactly_those_defined():
    # scalar() of a missing threshold is NaN, and the alert silently never fires.
    defined = [r["labels"]["threshold"] for r in _rules(RULES_DIR / "thresholds.rules.yml")]
    # In expressions (threshold="x") and in annotation templates (threshold='x').
    text = (RULES_DIR / "perflab.alerts.yml").read_text()
    read = set(re.findall(r"""threshold=["'](\w+)["']""", text))
    assert len(defined) == len(set(defined)), "a threshold is defined twice"
    assert read == set(defined)


def test_every_alert_is_labelled_annotated_and_has_its_runbook():
    for rule in ALERT_RULES:
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        assert rule["annotations"]["runbook_url"] == RUNBOOK.format(rule["alert"].lower())


def test_webhook_knows_every_alert_name():
    assert set(ALERT_NAMES) == {rule["alert"] for rule in ALERT_RULES}


def test_render_rules_shortens_for_and_overrides_thresholds_in_a_copy(tmp_path: Path):
    before = {path: path.read_text() for path in RULES_DIR.glob("*.yml")}
    written = render_rules(tmp_path, alert_for="2s", thresholds={"db_queries_per_request": 7})
    _run(PROMTOOL, "check", "rules", *written)
    copies = {Path(p).name: _rules(Path(p)) for p in written}
    assert {r["for"] for r in copies["perflab.alerts.yml"]} == {"2s"}
    thresholds = {r["labels"]["threshold"]: r["expr"] for r in copies["thresholds.rules.yml"]}
    assert thresholds["db_queries_per_request"] == "vector(7)"
    assert thresholds["api_min_rps"] == "vector(0.2)"
    assert {path: path.read_text() for path in RULES_DIR.glob("*.yml")} == before
    with pytest.raises(ValueError, match="no_such_threshold"):
        render_rules(tmp_path / "x", thresholds={"no_such_threshold": 1})
