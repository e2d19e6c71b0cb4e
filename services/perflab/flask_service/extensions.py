"""The Flask extensions the techniques use, created unbound and bound by `create_app`
(the application-factory pattern: one object, any number of apps)."""

from __future__ import annotations

from flask_caching import Cache
from flask_compress import Compress

cache = Cache()
compress = Compress()
