"""Django settings of the lab's Django service, built from perflab's Settings (`PERFLAB_*`).

Three database aliases on the same Postgres, so a technique can pick how its request
holds a connection: `default` borrows from Django's native psycopg pool (every
technique but one), `persistent` keeps one connection per worker thread across
requests (`CONN_MAX_AGE`), `direct` opens one per request (`CONN_MAX_AGE=0`, Django's
own default). Two template engines (cached loader or not) for cached_templates. The
cache framework is Redis (`RedisCache`). MIDDLEWARE holds only what every request
needs; middleware_diet applies Django's default stack to its own view when its flag is
off.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.management.utils import get_random_secret_key

from perflab.settings import get_settings

_lab = get_settings()
_HERE = Path(__file__).resolve().parent
_TEMPLATES = _HERE / "shop" / "templates"


def _database(dsn: str, **extra: Any) -> dict[str, Any]:
    url = urlsplit(dsn)
    return {
        "ENGINE": "perflab.django_service.db",
        "NAME": url.path.lstrip("/"),
        "USER": unquote(url.username or ""),
        "PASSWORD": unquote(url.password or ""),
        "HOST": url.hostname or "",
        "PORT": str(url.port or ""),
        "OPTIONS": {"connect_timeout": max(1, round(_lab.db.connect_timeout_seconds))},
        **extra,
    }


# No session or login is ever kept: a per-process key signs nothing that must outlive it.
SECRET_KEY = (
    _lab.django.secret_key.get_secret_value() if _lab.django.secret_key else get_random_secret_key()
)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "django", *_lab.django.allowed_hosts]
ROOT_URLCONF = "perflab.django_service.urls"
WSGI_APPLICATION = "perflab.django_service.wsgi.application"
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = True  # LocaleMiddleware, one of middleware_diet's extras, negotiates languages
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "French")]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "perflab.django_service.shop",
]

# Outermost first. The Django instrumentation (tracing) adds its own in front.
MIDDLEWARE = [
    "perflab.django_service.middleware.telemetry.TelemetryMiddleware",
    "perflab.django_service.middleware.admin.AdminTokenMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "perflab.django_service.middleware.gzip.FlaggedGZipMiddleware",
]
# The request-body limit every service shares (docs/security.md): 413 beyond it.
DATA_UPLOAD_MAX_MEMORY_SIZE = _lab.api.max_body_bytes
# Nothing the lab stores needs a table: sessions and messages live in signed cookies.
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"

_POOL = {
    "min_size": 1,
    "max_size": _lab.django.threads,
    "timeout": _lab.db.connect_timeout_seconds,
}
DATABASES = {
    # CONN_HEALTH_CHECKS with a pool: psycopg's check (an empty query) before a pooled
    # connection is handed out, so after a Postgres restart the pool replaces its dead
    # connections instead of failing requests with them (found by the fault suite).
    "default": _database(_lab.db.dsn, CONN_MAX_AGE=0, CONN_HEALTH_CHECKS=True),
    "persistent": _database(_lab.db.dsn, CONN_MAX_AGE=60, CONN_HEALTH_CHECKS=True),
    "direct": _database(_lab.db.dsn, CONN_MAX_AGE=0),
    # prepared_statements: Django turns psycopg's prepared statements off (for poolers
    # such as PgBouncer); this alias turns them back on, on kept connections.
    "prepared": _database(_lab.db.dsn, CONN_MAX_AGE=60, CONN_HEALTH_CHECKS=True),
}
DATABASES["prepared"]["OPTIONS"] |= {"server_side_binding": True, "prepare_threshold": 5}
DATABASES["default"]["OPTIONS"]["pool"] = _POOL

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": _lab.redis.url,
        "KEY_PREFIX": "perflab:django",
        "TIMEOUT": 300,
        "OPTIONS": {
            "socket_timeout": _lab.redis.socket_timeout_seconds,
            "socket_connect_timeout": _lab.redis.socket_timeout_seconds,
        },
    }
}

_OPTIONS = {"context_processors": [], "debug": False}
_LOADERS = "perflab.django_service.shop.loaders"
TEMPLATES = [
    {
        # The engine every page uses: the cached loader (Django's default when DEBUG is off).
        "NAME": "cached",
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [_TEMPLATES],
        "OPTIONS": {
            **_OPTIONS,
            "loaders": [("django.template.loaders.cached.Loader", [f"{_LOADERS}.CachedEngine"])],
        },
    },
    {
        # cached_templates' naive path: every render reads and compiles each file again.
        "NAME": "uncached",
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [_TEMPLATES],
        "OPTIONS": {**_OPTIONS, "loaders": [f"{_LOADERS}.UncachedEngine"]},
    },
]

STATIC_URL = "/static/"
STATIC_ROOT = _lab.django.static_root or str(Path(tempfile.gettempdir()) / "perflab-django-static")
STORAGES = {
    # Hashed names + gzip/brotli copies, written by collectstatic (gunicorn_conf).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_MAX_AGE = 60  # un-hashed names only; hashed ones are immutable for a year

LOGGING_CONFIG = None  # telemetry.logging.setup_logging owns the handlers (wsgi.py)
