"""Every dashboard's builder, and the JSON files Grafana provisions.

`python -m perflab.dashboards` writes `grafana/dashboards/*.json` from `build_all()`;
`--check` fails when the committed JSON differs from what the code builds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from perflab.dashboards import cache_http, database, load, overview, runtime, techniques, workers

OUTPUT_DIR = Path(__file__).resolve().parents[3] / "grafana" / "dashboards"

# File name (without .json) -> builder, in the order Grafana lists them.
BUILDERS: dict[str, Callable[[], dict[str, Any]]] = {
    "overview": overview.build,
    "techniques": techniques.build,
    "database": database.build,
    "cache-http": cache_http.build,
    "workers": workers.build,
    "runtime": runtime.build,
    "load": load.build,
}


def render(dashboard: dict[str, Any]) -> str:
    return json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"


def build_all() -> dict[str, str]:
    """File name -> the JSON text Grafana should load."""
    return {f"{name}.json": render(build()) for name, build in BUILDERS.items()}
