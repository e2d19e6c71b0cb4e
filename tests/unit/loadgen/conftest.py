"""Unit tests of the load generator's modules.

Importing `locust` monkey-patches the whole process with gevent (sockets, threads,
ssl) unless told not to; the pytest process also runs asyncio tests, so the modules
that need Locust's classes are imported here with the patch switched off, and the
switch is removed again so the Locust processes other tests start are patched as usual.
"""

from __future__ import annotations

import os

os.environ["LOCUST_SKIP_MONKEY_PATCH"] = "1"
try:
    import locust  # noqa: F401
finally:
    del os.environ["LOCUST_SKIP_MONKEY_PATCH"]
