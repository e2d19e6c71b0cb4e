"""Healthchecks of perflab's containers (standard library only, so they start fast).

    healthcheck.py http URL [URL ...]      every URL answers 200
    healthcheck.py locust-worker MASTER    this container's Locust worker is registered
                                           with the master's web UI at MASTER

Exit 0 when healthy, 1 (with the reason on stderr) otherwise, as Docker expects.
"""

from __future__ import annotations

import json
import socket
import sys
import urllib.request

TIMEOUT_SECONDS = 3


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as answer:
        if answer.status != 200:
            raise OSError(f"{url}: HTTP {answer.status}")
        return answer.read()


def check_http(urls: list[str]) -> None:
    for url in urls:
        _get(url)


def check_locust_worker(master: str) -> None:
    # Locust names a worker "<hostname>_<uuid>"; a container's hostname is its own.
    prefix = socket.gethostname() + "_"
    workers = json.loads(_get(f"{master.rstrip('/')}/stats/requests")).get("workers", [])
    mine = [w for w in workers if w.get("id", "").startswith(prefix)]
    if not mine or mine[0].get("state") == "missing":
        raise OSError(f"worker {prefix}* is not registered with the master at {master}")


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("http", "locust-worker"):
        sys.stderr.write(__doc__ or "")
        return 2
    try:
        if argv[0] == "http":
            check_http(argv[1:])
        else:
            check_locust_worker(argv[1])
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"unhealthy: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
