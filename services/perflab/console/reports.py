"""The reports under `results/` (experiment, compare, bench, profile, load runs) as pages.

A report is a folder with a `report.md` (or the `summary.md` of `lab experiment --all`,
rendered with markdown-it-py, its relative image and link targets pointed at
`/results/...`) or a `summary.json` (a load run's request table, a profile's figures).
PNG charts the markdown does not show are listed under it, other files are linked.
Every path is resolved inside the results folder; anything else is not found.

The list reads a report's files only when they change: each report's (kind, title) is
memoised under its folder and the stat (st_mtime_ns, st_size) of the files they come
from, so a page load costs a few stats per report instead of a read and parse of each.
A new or rewritten report is read on the next load; one that is gone is forgotten.
"""

from __future__ import annotations

import json
import re
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cachetools import cached
from markdown_it import MarkdownIt
from markdown_it.token import Token

MAX_DEPTH = 2  # results/<run>/<technique>/report.md (lab experiment --all)
# What each writer puts first in its markdown, and the folder names the CLI picks by
# default: a report keeps its kind under any --output name.
HEADINGS = (
    (re.compile(r"^Experiment: "), "experiment"),
    (re.compile(r"^perflab: every technique, A/B"), "experiment"),
    (re.compile(r" in every framework$"), "compare"),
    (re.compile(r"^perflab: servers side by side"), "bench"),
    (re.compile(r"^Profile: "), "profile"),
)
PREFIXES = (
    ("experiment", "experiment"),
    ("compare", "compare"),
    ("servers", "bench"),
    ("bench", "bench"),
    ("profile", "profile"),
    ("load", "load"),
)


# The files a report's kind and title are read from (any one of the first three makes a
# folder a report), and a memo key: (root, relative folder, their (name, st_mtime_ns, st_size)).
SOURCES = ("report.md", "summary.md", "summary.json", "profile.speedscope.json")
Signature = tuple[tuple[str, int, int], ...]
Key = tuple[Path, Path, Signature]


@dataclass(frozen=True)
class Report:
    path: str  # relative to the results folder, posix
    kind: str
    title: str
    modified: float

    @property
    def when(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.modified))


def _markdown_text(folder: Path) -> str | None:
    """report.md, or summary.md for `lab experiment --all`'s run folder; None: neither."""
    for name in ("report.md", "summary.md"):
        if (folder / name).is_file():
            return (folder / name).read_text(errors="replace")
    return None


def _heading(markdown: str | None) -> str | None:
    for line in (markdown or "").splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return None


def _load_summary(folder: Path) -> dict[str, Any] | None:
    """A load run's summary.json (`lab load`): its request table."""
    try:
        summary = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) and "requests" in summary else None


def _kind(folder: Path, relative: Path, heading: str) -> str:
    for pattern, kind in HEADINGS:
        if pattern.search(heading):
            return kind
    if (folder / "profile.speedscope.json").is_file():  # a profile from before its report.md
        return "profile"
    if _load_summary(folder) is not None:
        return "load"
    run = relative.parts[0]  # an --all run's technique folders share its name
    return next((kind for start, kind in PREFIXES if run.startswith(start)), "other")


def _describe(folder: Path, relative: Path, markdown: str | None) -> tuple[str, str]:
    """(kind, title) of a report folder, from its markdown read once."""
    heading = _heading(markdown)
    return _kind(folder, relative, heading or ""), heading or folder.name


def _is_report(folder: Path, markdown: str | None) -> bool:
    return markdown is not None or (folder / "summary.json").is_file()


def parse_report(folder: Path, relative: Path) -> tuple[str, str]:
    """(kind, title) of a report folder: reads its markdown (and summary.json when the
    heading does not tell). The listing's only read of a report's files, memoised."""
    return _describe(folder, relative, _markdown_text(folder))


def _signature(folder: Path) -> Signature | None:
    """The stat of each of the folder's SOURCES; None when the folder is not a report."""
    found = []
    for name in SOURCES:
        try:
            st = (folder / name).stat()
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            found.append((name, st.st_mtime_ns, st.st_size))
    return tuple(found) if {name for name, _, _ in found} & set(SOURCES[:3]) else None


# Every listing's memo, shared by the threads that list: a plain dict behind a lock,
# emptied of what a listing no longer meets (_forget) rather than bounded by size.
_PARSED: dict[Key, tuple[str, str]] = {}
_LOCK = threading.Lock()


def _key(root: Path, relative: Path, signature: Signature) -> Key:
    return root, relative, signature


@cached(_PARSED, key=_key, lock=_LOCK)
def _parsed(root: Path, relative: Path, signature: Signature) -> tuple[str, str]:
    # The signature is taken before the read: a file rewritten in between is read again
    # on the next listing, never kept under its new stat with its old contents.
    del signature  # the memo's key only
    return parse_report(root / relative, relative)


def _forget(root: Path, seen: set[Key]) -> None:
    """Drop `root`'s memo entries this listing did not meet (a report deleted, no longer a
    report, or read before its files changed), and those of subreport listings of `root`'s
    reports whose folder is gone."""
    with _LOCK:
        stale = [
            key
            for key in _PARSED
            if (key[0] == root and key not in seen)
            or (root in key[0].parents and not key[0].is_dir())
        ]
        for key in stale:
            del _PARSED[key]


def list_reports(results: Path) -> list[Report]:
    root = results.resolve()  # one memo entry per report, whatever the path given
    found: list[Report] = []
    seen: set[Key] = set()
    frontier = [p for p in results.iterdir() if p.is_dir()] if results.is_dir() else []
    for depth in range(MAX_DEPTH):
        below = []
        for folder in frontier:
            signature = _signature(folder)
            if signature is not None:
                relative = folder.relative_to(results)
                stamp = max(f.stat().st_mtime for f in folder.iterdir())
                seen.add(_key(root, relative, signature))
                kind, title = _parsed(root, relative, signature)
                found.append(Report(relative.as_posix(), kind, title, stamp))
            elif depth + 1 < MAX_DEPTH:
                below += [p for p in folder.iterdir() if p.is_dir()]
        frontier = below
    _forget(root, seen)
    return sorted(found, key=lambda r: r.modified, reverse=True)


def inside(results: Path, relative: str) -> Path | None:
    """`results/relative`, or None when it leaves the results folder or does not exist."""
    root = results.resolve()
    try:
        target = (root / relative).resolve()
    except (OSError, ValueError):
        return None
    if target != root and root not in target.parents:
        return None
    return target if target.exists() else None


def file_url(relative_folder: str, name: str) -> str:
    return "/results/" + quote(f"{relative_folder}/{name}")


def _rebase(tokens: list[Token], folder: str) -> set[str]:
    """Point relative image and link targets at `/results/<folder>/`; return the images."""
    shown = set()
    for token in tokens:
        for child in token.children or []:
            attr = {"image": "src", "link_open": "href"}.get(child.type)
            if attr is None:
                continue
            target = str(child.attrGet(attr) or "")
            if not target or "://" in target or target.startswith(("/", "#", "mailto:")):
                continue
            if attr == "src":
                shown.add(target)
            child.attrSet(attr, file_url(folder, target))
    return shown


def _markdown() -> MarkdownIt:
    # Raw HTML stays escaped: a report is text and charts, nothing that runs.
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def render(results: Path, relative: str) -> dict[str, Any] | None:
    folder = inside(results, relative)
    if folder is None or not folder.is_dir():
        return None
    markdown = _markdown_text(folder)
    if not _is_report(folder, markdown):
        return None
    rel = folder.relative_to(results.resolve()).as_posix()
    kind, title = _describe(folder, Path(rel), markdown)
    shown: set[str] = set()
    html = ""
    if markdown is not None:
        md = _markdown()
        tokens = md.parse(markdown)
        shown = _rebase(tokens, rel)
        html = md.renderer.render(tokens, md.options, {})
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    charts = [name for name in files if name.endswith(".png") and name not in shown]
    return {
        "path": rel,
        "kind": kind,
        "title": title,
        "html": html,
        "summary": _load_summary(folder) if kind == "load" else None,
        "charts": [file_url(rel, name) for name in charts],
        "files": [(name, file_url(rel, name)) for name in files],
        "subreports": [r for r in list_reports(folder) if r.path],
    }
