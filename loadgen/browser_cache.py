"""A browser's view of static assets (the static_files technique).

Which stylesheets and scripts an HTML page links, one Locust name per asset route, and
what a browser keeps per URL: whether its next visit asks at all, and with which
validators. Standard library only, like `recipes.py`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser


class _AssetLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "link" and (found.get("rel") or "") == "stylesheet" and found.get("href"):
            self.links.append(str(found["href"]))
        elif tag == "script" and found.get("src"):
            self.links.append(str(found["src"]))


def asset_links(html: bytes) -> list[str]:
    """The stylesheets and scripts an HTML page links, in document order."""
    parser = _AssetLinks()
    parser.feed(html.decode(errors="replace"))
    return parser.links


def asset_name(url: str) -> str:
    """`/static/lab/app.3f2a.css` -> `/static/{path}`: one name per asset route."""
    parts = url.split("/", 2)
    return f"/{parts[1]}/{{path}}" if len(parts) == 3 else url


_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.IGNORECASE)


@dataclass
class _Stored:
    fresh_until: float
    etag: str | None
    last_modified: str | None


class BrowserCache:
    """What a browser keeps per URL, and the request it makes next (RFC 9111, simplified).

    A response with `Cache-Control: max-age=N` (and no no-cache / no-store) is fresh for
    N seconds: no request at all. Otherwise the browser revalidates with the validators
    it was given (`If-None-Match`, `If-Modified-Since`) and a 304 keeps the copy. Heuristic
    freshness (a share of Last-Modified's age) is left out on purpose: every browser
    computes it differently, and the lab shows the explicit policies.

    `revalidate=True` asks every time, fresh or not (what a reload does): the API's
    answers are `max-age=60`, and the load is there to exercise their 304s.
    """

    def __init__(self, revalidate: bool = False) -> None:
        self._stored: dict[str, _Stored] = {}
        self.revalidate = revalidate

    def request_headers(self, url: str, now: float) -> dict[str, str] | None:
        """None when the stored copy is fresh (no request); else the headers to send."""
        stored = self._stored.get(url)
        if stored is None:
            return {}
        if now < stored.fresh_until and not self.revalidate:
            return None
        headers = {}
        if stored.etag:
            headers["If-None-Match"] = stored.etag
        if stored.last_modified:
            headers["If-Modified-Since"] = stored.last_modified
        return headers

    def store(self, url: str, status: int, headers: Mapping[str, str], now: float) -> None:
        """Keep what a response says (header names in any case)."""
        if status not in (200, 304):
            return  # an error does not replace the stored copy
        headers = {name.lower(): value for name, value in headers.items()}
        control = headers.get("cache-control", "")
        if "no-store" in control.lower():
            self._stored.pop(url, None)
            return
        match = _MAX_AGE.search(control)
        fresh = int(match.group(1)) if match and "no-cache" not in control.lower() else 0
        # A 304 freshens the stored copy and may omit its validators; a 200 replaces the
        # copy, validators and all (RFC 9111 §3.2, §4.3.4).
        old = self._stored.get(url) if status == 304 else None
        self._stored[url] = _Stored(
            fresh_until=now + fresh,
            etag=headers.get("etag") or (old.etag if old else None),
            last_modified=headers.get("last-modified") or (old.last_modified if old else None),
        )
