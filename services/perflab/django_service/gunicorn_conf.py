"""gunicorn's configuration for the Django service (`--config python:<this module>`).

Threaded workers (gthread): each process serves `threads` requests at once, as Django
deployments commonly run. The master collects the static files once at start (hashed,
compressed copies for WhiteNoise). A worker marks itself dead in the Prometheus
multiprocess folder when it exits, so its live gauges leave the merged /metrics.
Command-line options (the lab's `--bind`, `--workers`) override these defaults.
"""

from __future__ import annotations

import os
from typing import Any

from perflab.settings import get_settings

_django = get_settings().django

bind = f"{_django.host}:{_django.port}"
workers = _django.workers
worker_class = "gthread"
threads = _django.threads
timeout = 60
graceful_timeout = 10
accesslog = None  # the RED metrics and the server spans describe every request
# gunicorn's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl):
# the Django and Flask masters (and every test server) would take it from each other,
# and the lab stops its servers by PID, so none is opened.
control_socket_disable = True
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "perflab.telemetry.logging.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
    # A worker's root logger gets the JSON handler from setup_logging (wsgi.py).
    "root": {"handlers": [], "level": "INFO"},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}


def on_starting(server: Any) -> None:
    """Collect the static files (hashed names, gzip/brotli copies) before any worker."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "perflab.django_service.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("collectstatic", interactive=False, verbosity=0)


def post_worker_init(worker: Any) -> None:
    from perflab.django_service import runtime

    runtime.flags()  # follow flips (and export the flag gauges) before the first request


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
