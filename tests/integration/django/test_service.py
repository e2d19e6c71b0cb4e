"""The Django service's own endpoints, on a real gunicorn: health, techniques, metrics."""

from __future__ import annotations

import httpx
import pytest

from perflab.catalog import implemented_by

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
