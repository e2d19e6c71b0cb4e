"""Print perflab's runtime requirements from pyproject.toml, one per line.

The Dockerfiles install from this list so that pyproject.toml stays the one place
where dependencies are declared; an image leaves out what it does not run:

    python3 requirements.py pyproject.toml --exclude locust,matplotlib  # API, worker
    python3 requirements.py pyproject.toml --only locust,prometheus-client  # Locust

Standard library only: it runs in the base image before anything is installed.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = _NAME.match(requirement)
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return normalise(match.group(1))


def select(requirements: list[str], only: set[str], exclude: set[str]) -> list[str]:
    names = {requirement_name(r) for r in requirements}
    unknown = (only | exclude) - names
    if unknown:
        # A renamed dependency must not silently change what an image contains.
        raise ValueError(f"not among the dependencies: {', '.join(sorted(unknown))}")
    return [
        r
        for r in requirements
        if (not only or requirement_name(r) in only) and requirement_name(r) not in exclude
    ]


def _names(value: str) -> set[str]:
    return {normalise(n) for n in value.split(",") if n.strip()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pyproject")
    parser.add_argument("--only", type=_names, default=set(), help="comma-separated names")
    parser.add_argument("--exclude", type=_names, default=set(), help="comma-separated names")
    args = parser.parse_args(argv)
    with open(args.pyproject, "rb") as f:
        requirements = tomllib.load(f)["project"]["dependencies"]
    try:
        chosen = select(requirements, args.only, args.exclude)
    except ValueError as exc:
        parser.error(str(exc))
    sys.stdout.write("".join(f"{r}\n" for r in chosen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
