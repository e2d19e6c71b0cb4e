"""Every relative link in README.md and docs/*.md resolves, and so does every runbook_url.

A link resolves when its file exists and, if it has a `#anchor`, the target markdown
file has a heading with that GitHub-style slug (lower case, punctuation dropped, spaces
to hyphens, `-1`, `-2`... for repeated headings). Links are read with markdown-it-py,
so code blocks and inline code are not mistaken for links.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from markdown_it import MarkdownIt

from tests.support.servers import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
RULES = sorted((REPO / "prometheus" / "rules").glob("*.yml"))
_MD = MarkdownIt("commonmark").enable("table")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)  # \w keeps letters, digits and _
    return text.replace(" ", "-")


def _inline_text(token) -> str:  # noqa: ANN001 - a markdown-it Token
    return "".join(
        child.content for child in token.children or [] if child.type in ("text", "code_inline")
    )


@cache
def anchors(page: Path) -> frozenset[str]:
    tokens = _MD.parse(page.read_text())
    found: list[str] = []
    for before, token in zip(tokens, tokens[1:], strict=False):
        if before.type == "heading_open" and token.type == "inline":
            base = slug(_inline_text(token))
            name, n = base, 0
            while name in found:
                n += 1
                name = f"{base}-{n}"
            found.append(name)
    # Explicit HTML anchors count too (<a id="..."> / name=).
    found += re.findall(r'<a\s+(?:id|name)="([^"]+)"', page.read_text())
    return frozenset(found)


def links(page: Path) -> list[str]:
    targets = []
    for token in _MD.parse(page.read_text()):
        for child in token.children or []:
            if child.type == "link_open":
                targets.append(str(child.attrGet("href")))
            elif child.type == "image":
                targets.append(str(child.attrGet("src")))
    return targets


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if REPO in path.parents else str(path)


def problem(page: Path, target: str) -> str | None:
    """Why `target` (as written in `page`) does not resolve; None when it does."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None  # an external link: not checked here (no network)
    path = unquote(parts.path)
    file = (page.parent / path).resolve() if path else page
    if not file.exists():
        return f"{_shown(file)} does not exist"
    if parts.fragment:
        if file.suffix != ".md":
            return f"#{parts.fragment} on a non-markdown file"
        if parts.fragment not in anchors(file):
            return f"no heading #{parts.fragment} in {_shown(file)}"
    return None


def test_the_slugs_are_githubs() -> None:
    assert slug("Quick start") == "quick-start"
    assert slug("`lab` verbs") == "lab-verbs"
    assert slug("Runbook: ApiLatencyP95High") == "runbook-apilatencyp95high"
    assert slug("What it costs (and why)") == "what-it-costs-and-why"
    assert slug("db_index / pagination") == "db_index--pagination"


def test_a_broken_link_and_a_broken_anchor_are_caught(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Top\n\n## Top\n\n[a](other.md) [b](#top-1) [c](#nope) [d](https://x.y/z)\n")
    found = {t: problem(page, t) for t in links(page)}
    assert found["other.md"] and "does not exist" in found["other.md"]
    assert found["#top-1"] is None
    assert found["#nope"] and "no heading #nope" in found["#nope"]
    assert found["https://x.y/z"] is None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = [f"{t}: {why}" for t in links(page) if (why := problem(page, t))]
    assert broken == []


def test_every_runbook_url_points_at_a_heading_of_the_alerts_page() -> None:
    urls = []
    for path in RULES:
        for group in yaml.safe_load(path.read_text()).get("groups", []):
            for rule in group.get("rules", []):
                url = rule.get("annotations", {}).get("runbook_url")
                if url:
                    urls.append((rule.get("alert"), url))
    assert urls, "no runbook_url in prometheus/rules"
    broken = []
    for alert, url in urls:
        # Runbook URLs are repository paths (docs/alerts.md#...), resolved from the root.
        path = urlsplit(url).path
        relative = path[path.index("docs/") :] if "docs/" in path else path
        target = relative + (f"#{urlsplit(url).fragment}" if urlsplit(url).fragment else "")
        if why := problem(REPO / "README.md", target):
            broken.append(f"{alert}: {url}: {why}")
    assert broken == []


def test_the_pages_links_are_read() -> None:
    # Guards the test above against a parser that finds nothing (and so passes).
    relative = [t for page in PAGES for t in links(page) if not urlsplit(t).scheme]
    assert len(relative) >= 10, relative
