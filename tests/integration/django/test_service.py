"""The Django service's own endpoints, on a real gunicorn: health, techniques, metrics."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from perflab.catalog import implemented_by
from perflab.procs import free_port
from tests.support.servers import gunicorn_server, service_env

pytestmark = pytest.mark.integration


def test_health_and_readiness(django: httpx.Client):
    assert django.get("/healthz").json() == {"status": "ok"}
    ready = django.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["postgres"]["ok"] and ready.json()["checks"]["redis"]["ok"]


def test_techniques_lists_exactly_the_django_catalog_entries(django: httpx.Client):
    listed = django.get("/techniques").json()["techniques"]
    assert [t["name"] for t in listed] == list(implemented_by("django"))
    for item in listed:
        assert "django" in item["services"] and isinstance(item["enabled"], bool)


def test_a_dependency_down_is_a_503_naming_it(lab_root: Path, settings_env: dict[str, str]) -> None:
    """Redis unreachable: /readyz names it; the cache technique still answers (computes)."""
    env = service_env(settings_env, {"PERFLAB_REDIS__URL": f"redis://127.0.0.1:{free_port()}/0"})
    with gunicorn_server(lab_root, env, name="django-no-redis", ready="/healthz") as url:
        ready = httpx.get(f"{url}/readyz", timeout=30)
        assert ready.status_code == 503
        body = ready.json()
        assert body["error"] == "redis unavailable"
        assert body["checks"]["postgres"]["ok"] and not body["checks"]["redis"]["ok"]
        top = httpx.get(f"{url}/genres/top-rated", timeout=60)
        assert top.status_code == 200 and top.json()["genres"]
        assert top.headers["X-Technique-Variant"] == "optimised"  # the default: flags on


def test_bad_input_is_a_4xx_naming_what_was_wrong(django: httpx.Client):
    assert django.get("/books/0").status_code == 400
    assert "'limit'" in django.get("/books?limit=x").json()["error"]
    unknown = django.get("/no/such/path")
    assert unknown.status_code == 404 and unknown.json() == {"error": "no route GET /no/such/path"}
    wrong_method = django.delete("/healthz")
    assert wrong_method.status_code == 405 and wrong_method.headers["Allow"] == "GET"
    assert wrong_method.json()["error"].endswith("allowed: GET")
    assert django.post("/orders/bulk", content=b"{not json").status_code == 400


def test_writes_need_the_admin_token_when_one_is_set_and_bodies_have_a_limit(
    lab_root: Path, settings_env: dict[str, str]
) -> None:
    token = "test-admin-token"
    env = service_env(
        settings_env, {"PERFLAB_ADMIN_TOKEN": token, "PERFLAB_API__MAX_BODY_BYTES": "2048"}
    )
    with gunicorn_server(lab_root, env, name="django-admin") as url:
        order = [{"user_id": 1, "book_id": 1, "quantity": 1}]
        refused = httpx.post(f"{url}/orders/bulk", json=order, timeout=30)
        assert refused.status_code == 401 and "admin token" in refused.json()["error"]
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        unknown = httpx.post(f"{url}/no/such/path", timeout=30)
        assert unknown.status_code == 401  # before routing: nothing is learnt without it
        auth = {"Authorization": f"Bearer {token}"}
        allowed = httpx.post(f"{url}/orders/bulk", json=order, headers=auth, timeout=30)
        assert allowed.status_code == 201, allowed.text
        assert httpx.get(f"{url}/books", params={"limit": 1}, timeout=30).status_code == 200
        big = httpx.post(f"{url}/orders/bulk", json=order * 200, headers=auth, timeout=30)
        assert big.status_code == 413 and "2048" in big.json()["error"]


def test_scrapes_and_probes_stay_out_of_the_red_figures(django: httpx.Client):
    # A scrape once counted itself in flight: an idle Django looked busy to the throughput
    # alert, and its request rate was Prometheus' scrape rate.
    for path in ("/healthz", "/readyz", "/metrics"):
        answer = django.get(path)
        assert answer.status_code == 200 and "x-db-queries" not in answer.headers
    assert django.get("/techniques").headers["x-db-queries"] == "0"
    families = text_string_to_metric_families(django.get("/metrics").text)
    routes = {
        s.labels.get("route")
        for f in families
        for s in f.samples
        if f.name.startswith("perflab_http_")
    }
    assert "/techniques" in routes
    assert not routes & {"/metrics", "/healthz", "/readyz"}, routes
