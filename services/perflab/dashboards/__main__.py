"""`python -m perflab.dashboards [--check]`: write (or verify) grafana/dashboards/*.json."""

from __future__ import annotations

import argparse
import sys

from perflab.dashboards.build import OUTPUT_DIR, build_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perflab.dashboards")
    parser.add_argument("--check", action="store_true", help="fail if the files are stale")
    args = parser.parse_args(argv)
    stale = []
    for name, text in build_all().items():
        path = OUTPUT_DIR / name
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(text)
    if args.check and stale:
        sys.stderr.write(f"stale dashboards (run python -m perflab.dashboards): {stale}\n")
        return 1
    for name in stale:
        sys.stdout.write(f"wrote {OUTPUT_DIR / name}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
