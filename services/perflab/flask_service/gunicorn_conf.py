"""gunicorn settings of the Flask service (`-c python:perflab.flask_service.gunicorn_conf`).

Threaded workers (gthread) by default, `PERFLAB_FLASK__WORKERS` processes of
`PERFLAB_FLASK__THREADS` threads on `PERFLAB_FLASK__HOST:PORT`; command-line options win
(the lab's runner sets `--bind` and `--workers`, the servers benchmark `--worker-class`).
What every run needs besides:
- prometheus_client multiprocess mode: each worker writes its own files in
  `PROMETHEUS_MULTIPROC_DIR` (wiped by whoever starts gunicorn) and `/metrics` merges
  them; `child_exit` drops the live gauges of a worker that is gone, as the
  library's documentation asks;
- the app is built in each worker after the fork (no preload): its pool, Redis
  client and flag thread belong to that worker;
- JSON logs for gunicorn's own messages, no access log (the RED metrics and server
  spans describe every request).
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import multiprocess

from perflab.settings import get_settings

_flask = get_settings().flask

bind = f"{_flask.host}:{_flask.port}"
workers = _flask.workers
worker_class = "gthread"
threads = _flask.threads
wsgi_app = "perflab.flask_service.app:app_factory()"
preload_app = False
accesslog = None
# gunicorn's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl):
# the Django and Flask masters (and every test server) would take it from each other,
# and the lab stops its servers by PID, so none is opened.
control_socket_disable = True
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "perflab.telemetry.logging.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
    # The app's own loggers get their JSON handler from the app factory (setup_logging).
    "root": {"level": "INFO", "handlers": []},
    "loggers": {"gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False}},
}


def child_exit(_server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
