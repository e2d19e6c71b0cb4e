"""Django set up in the test process, so tests can import the service's modules.

Settings come from the defaults (nothing connects at setup); the service itself always
runs in a real gunicorn started by the fixtures.
"""

from __future__ import annotations

import os

import django


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "perflab.django_service.settings")
    django.setup()
