"""Template loaders that count every template file they read (cached_templates).

Django's filesystem loader through its public extension point, `get_contents`: each
call is one file read, then compiled by the engine. Behind the cached loader that
happens once per template and process; without it, on every render.
"""

from __future__ import annotations

from django.template import Origin
from django.template.loaders.filesystem import Loader

from perflab.technique_metrics import TEMPLATE_LOADS


class _Counting(Loader):
    engine_name = ""

    def get_contents(self, origin: Origin) -> str:
        TEMPLATE_LOADS.labels(engine=self.engine_name).inc()
        contents: str = super().get_contents(origin)
        return contents


class CachedEngine(_Counting):
    engine_name = "cached"


class UncachedEngine(_Counting):
    engine_name = "uncached"


for _engine in ("cached", "uncached"):  # series exist before the first render
    TEMPLATE_LOADS.labels(engine=_engine)
