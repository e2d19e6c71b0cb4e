"""The reports under `results/` (experiment, bench, profile, load runs) as pages.

A report is a folder with a `report.md` (rendered with markdown-it-py, its relative
image and link targets pointed at `/results/...`) or a load run's `summary.json`.
PNG charts the markdown does not show are listed under it, other files are linked.
Every path is resolved inside the results folder; anything else is not found.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markdown_it import MarkdownIt
from markdown_it.token import Token

KINDS = ("experiment", "bench", "profile", "load")
MAX_DEPTH = 2  # results/<run>/<technique>/report.md (lab experiment --all)


@dataclass(frozen=True)
class Report:
    path: str  # relative to the results folder, posix
    kind: str
    title: str
    modified: float

    @property
    def when(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.modified))


def _kind(relative: Path) -> str:
    head = relative.parts[0]
    return next((k for k in KINDS if head.startswith(k)), "other")


def _title(folder: Path) -> str:
    report = folder / "report.md"
    if report.exists():
        for line in report.read_text(errors="replace").splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip()
    return folder.name


def _is_report(folder: Path) -> bool:
    return (folder / "report.md").is_file() or (folder / "summary.json").is_file()


def list_reports(results: Path) -> list[Report]:
    if not results.is_dir():
        return []
    found = []
    frontier = [p for p in results.iterdir() if p.is_dir()]
    for depth in range(MAX_DEPTH):
        below = []
        for folder in frontier:
            if _is_report(folder):
                relative = folder.relative_to(results)
                stamp = max(f.stat().st_mtime for f in folder.iterdir())
                found.append(Report(relative.as_posix(), _kind(relative), _title(folder), stamp))
            elif depth + 1 < MAX_DEPTH:
                below += [p for p in folder.iterdir() if p.is_dir()]
        frontier = below
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
    if folder is None or not folder.is_dir() or not _is_report(folder):
        return None
    rel = folder.relative_to(results.resolve()).as_posix()
    shown: set[str] = set()
    html = ""
    report = folder / "report.md"
    if report.is_file():
        md = _markdown()
        tokens = md.parse(report.read_text(errors="replace"))
        shown = _rebase(tokens, rel)
        html = md.renderer.render(tokens, md.options, {})
    summary = None
    if (folder / "summary.json").is_file():
        summary = json.loads((folder / "summary.json").read_text())
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    charts = [name for name in files if name.endswith(".png") and name not in shown]
    return {
        "path": rel,
        "kind": _kind(Path(rel)),
        "title": _title(folder),
        "html": html,
        "summary": summary,
        "charts": [file_url(rel, name) for name in charts],
        "files": [(name, file_url(rel, name)) for name in files],
        "subreports": [r for r in list_reports(folder) if r.path],
    }
