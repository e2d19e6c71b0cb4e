"""What the app image runs imports with what the app image has.

The image installs the runtime dependencies less Locust and matplotlib
(docker/app.Dockerfile), never the dev extras: a module of the API, the console or a
service that pulls in one of those at import time starts natively and fails in compose
(the console once did, through `perflab.dashboards`, which loaded the Grafana SDK).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

# Import names of what the image leaves out: excluded runtime packages and dev extras.
NOT_IN_THE_IMAGE = (
    "locust", "matplotlib", "grafana_foundation_sdk", "pytest", "playwright",
    "schemathesis", "hypothesis",
)  # fmt: skip
ENTRYPOINTS = (
    "perflab.api.app",
    "perflab.console.app",
    "perflab.worker.app",
    "perflab.flask_service.app",
    "perflab.flask_service.gunicorn_conf",
    "perflab.django_service.gunicorn_conf",
)

_PROBE = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None  # `import name` now raises ImportError
import importlib
importlib.import_module({module!r})
"""


@pytest.mark.parametrize("module", ENTRYPOINTS)
def test_an_entrypoint_imports_without_what_the_image_leaves_out(module: str) -> None:
    probe = _PROBE.format(blocked=NOT_IN_THE_IMAGE, module=module)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
