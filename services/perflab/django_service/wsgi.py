"""The WSGI entry gunicorn serves: `perflab.django_service.wsgi:application`.

Order matters: JSON logs first, then tracing (its Django middleware must be in place
before the handler loads MIDDLEWARE), then the app, then this process's runtime (flag
mirror, samplers).
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "perflab.django_service.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

from perflab.django_service import runtime, tracing  # noqa: E402
from perflab.settings import get_settings  # noqa: E402
from perflab.telemetry.logging import setup_logging  # noqa: E402

_settings = get_settings()
setup_logging(_settings.telemetry.log_level)
tracing.instrument(_settings)
application = get_wsgi_application()
runtime.flags()
