"""Print perflab's runtime requirements from pyproject.toml, one per line.

The Dockerfiles install from this list so that pyproject.toml stays the one place
where dependencies are declared; an image leaves out what it does not run:

    python3 requirements.py pyproject.toml --exclude locust,matplotlib  # API, worker
    python3 requirements.py pyproject.toml --only locust,prometheus-client  # Locust

With `--lock uv.lock --constraints-out FILE` every version comes from the lock file:
FILE gets `name==version` for each locked package, and the list starts with
`-c FILE`, so pip installs exactly what `uv sync --frozen` installs natively.

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


def locked_pins(lock: dict[str, object]) -> list[str]:
    """`name==version` for every package locked at one version.

    A package locked at several versions (one per Python range, e.g. numpy) is left
    to pip: a constraints file cannot say which applies, and pip picks within the
    requirement's own range."""
    versions: dict[str, set[str]] = {}
    for package in lock.get("package", []):  # type: ignore[union-attr]
        source = package.get("source", {})
        if "registry" in source:  # not the project itself
            versions.setdefault(normalise(package["name"]), set()).add(package["version"])
    return [f"{name}=={v.pop()}" for name, v in sorted(versions.items()) if len(v) == 1]


def _names(value: str) -> set[str]:
    return {normalise(n) for n in value.split(",") if n.strip()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pyproject")
    parser.add_argument("--only", type=_names, default=set(), help="comma-separated names")
    parser.add_argument("--exclude", type=_names, default=set(), help="comma-separated names")
    parser.add_argument("--lock", help="uv.lock: pin every version to it")
    parser.add_argument("--constraints-out", help="where to write the lock's pins")
    args = parser.parse_args(argv)
    if bool(args.lock) != bool(args.constraints_out):
        parser.error("--lock and --constraints-out go together")
    with open(args.pyproject, "rb") as f:
        requirements = tomllib.load(f)["project"]["dependencies"]
    try:
        chosen = select(requirements, args.only, args.exclude)
    except ValueError as exc:
        parser.error(str(exc))
    if args.lock:
        with open(args.lock, "rb") as f:
            pins = locked_pins(tomllib.load(f))
        with open(args.constraints_out, "w") as out:
            out.write("".join(f"{pin}\n" for pin in pins))
        chosen = [f"-c {args.constraints_out}", *chosen]
    sys.stdout.write("".join(f"{r}\n" for r in chosen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
