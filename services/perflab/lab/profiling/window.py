"""`lab profile TARGET --memory`: where a live service process allocates memory.

memray's `attach` would need gdb or lldb injecting code into the target and, on this
lab's reference machine, gdb cannot write to the process ("Couldn't write extended
state status"), so the lab uses the service's own tracemalloc window instead:
`POST /profiles/memory?seconds=S` traces the process that takes the request for S
seconds and reports what it still holds at the end, by site and by stack. That needs
profiling on in the service (`PERFLAB_PROFILING__ENABLED=true`) and, when configured,
the admin token (`PERFLAB_ADMIN_TOKEN`). The flame graph's frames are `path:line`
(tracemalloc keeps no function names), its widths bytes held.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx

from perflab.profile import flamegraph

JSON_FILE = "memory.json"
FLAMEGRAPH = "memory-flamegraph.svg"


class WindowError(RuntimeError):
    """The service refused or could not run the window; the message says what to do."""


def request(api: str, seconds: int, top: int) -> dict[str, Any]:
    headers = {}
    token = os.environ.get("PERFLAB_ADMIN_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        answer = httpx.post(
            f"{api}/profiles/memory", params={"seconds": seconds, "top": top},
            headers=headers, timeout=seconds + 60,
        )  # fmt: skip
    except httpx.HTTPError as exc:
        raise WindowError(f"cannot reach the API at {api} ({exc}); is the lab up?") from exc
    if answer.status_code == 404:
        raise WindowError(
            "profiling is off in the API: start it with PERFLAB_PROFILING__ENABLED=true "
            "(./scripts/lab down, then PERFLAB_PROFILING__ENABLED=true ./scripts/lab up)"
        )
    if answer.status_code == 401:
        raise WindowError("the API needs its admin token: set PERFLAB_ADMIN_TOKEN")
    if answer.status_code != 200:
        raise WindowError(f"POST /profiles/memory: HTTP {answer.status_code}: {answer.text[:300]}")
    return dict(answer.json())


def _kib(value: float) -> str:
    return f"{value / 1024:,.1f} KiB"


def write(body: dict[str, Any], out: Path, title: str) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    data = body["data"]
    stacks = {tuple(s["frames"]): float(s["bytes"]) for s in data["stacks"]}
    subtitle = (
        f"pid {body['pid']} · {body['seconds']:.1f} s window · held at the end "
        f"{_kib(data['held_bytes'])}, peak {_kib(data['peak_bytes'])} (tracemalloc)"
    )
    svg = flamegraph.render(
        stacks, title=title, subtitle=subtitle, unit=_kib,
        own=lambda name: name.startswith("perflab/"),
    )  # fmt: skip
    (out / FLAMEGRAPH).write_text(svg)
    (out / JSON_FILE).write_text(json.dumps(body, indent=2))
    return out / FLAMEGRAPH, out / JSON_FILE
