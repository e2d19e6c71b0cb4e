"""A run's metrics endpoint announced to the lab's Prometheus for as long as the run lasts.

Through file_sd: one target file per run in a folder Prometheus watches (`lab load` uses
`monitoring.LOADGEN_SD`, `lab fault` `monitoring.LAB_SD`), written atomically and removed
at the end; given Prometheus's URL, the end waits until Prometheus has dropped the target.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from perflab.procs import wait_until

TARGET_GONE_SECONDS = 15.0


@contextmanager
def prometheus_target(
    folder: Path | None,
    port: int,
    run: str,
    prometheus_url: str | None = None,
    labels: dict[str, str] | None = None,
) -> Iterator[None]:
    """Announce the run's metrics endpoint to Prometheus (file_sd) while it lasts, with
    `labels` (e.g. the service it loads); at the end, withdraw it and (given
    Prometheus's URL) wait until Prometheus dropped it, so whatever checks the targets
    next (`lab smoke`) never sees a finished run down."""
    if folder is None or not folder.parent.is_dir():
        yield
        return
    folder.mkdir(exist_ok=True)
    address = f"127.0.0.1:{port}"
    target, scratch = folder / f"{run}.json", folder / f".{run}.tmp"
    entry: dict[str, object] = {"targets": [address]}
    if labels:
        entry["labels"] = labels
    scratch.write_text(json.dumps([entry]))
    scratch.replace(target)  # atomic: Prometheus never reads half a file
    try:
        yield
    finally:
        target.unlink(missing_ok=True)
        if prometheus_url:
            wait_until(
                lambda: address not in _target_addresses(prometheus_url),
                timeout=TARGET_GONE_SECONDS,
                interval=0.25,
            )


def _target_addresses(prometheus_url: str) -> set[str]:
    answer = httpx.get(f"{prometheus_url}/api/v1/targets", params={"state": "active"}, timeout=5)
    return {t["labels"].get("instance", "") for t in answer.json()["data"]["activeTargets"]}
