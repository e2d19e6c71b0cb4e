"""The base Locust user every lab user builds on: the API's catalog, one checked call.

Every user reads `GET /techniques` (once per process and test) to learn each
technique's method and path, so paths live in one place: the API. URLs with ids are
grouped under their template (`name=/books/{book_id}`), and every answer is checked
against its recipe; a wrong status or body is a failure, not a success. Pagination
follows `next_cursor` like a scrolling client; pages that link CSS/JS fetch them like
a browser. `user_rng` gives each user its own (optionally seeded) draws.
"""

from __future__ import annotations

import itertools
import os
import random
import time
from dataclasses import replace

from gevent.lock import BoundedSemaphore
from locust import FastHttpUser, between

from loadgen.browser_cache import BrowserCache, asset_links, asset_name
from loadgen.recipes import (
    REVIEW,
    Call,
    Endpoint,
    build_call,
    parse_techniques,
    recipe_for,
    validate,
)

# The API's admin token, when it has one: every write (reviews, bulk orders,
# confirmations) needs it (docs/security.md).
ADMIN_TOKEN = os.environ.get("PERFLAB_ADMIN_TOKEN", "")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# Users started in this process since the test began, in start order.
_user_serial = itertools.count()


def user_rng(seed: int | None, worker_index: int = 0) -> random.Random:
    """A user's own random draws (ids, pages, keys). With a seed, the n-th user started
    on a worker draws the same values in every run, so two runs ask for the same
    requests; without one, fresh draws every time."""
    if seed is None:
        return random.Random()
    return random.Random(f"{seed}:{worker_index}:{next(_user_serial)}")


class _Catalog:
    """This process's copy of the API's technique listing; reset when a test starts."""

    endpoints: dict[str, Endpoint] | None = None
    # Users start together: one fetches the listing while the others wait for it.
    lock = BoundedSemaphore()


CATALOG = _Catalog()
# Pages followed by `next_cursor` after each jump (a user scrolling through the feed).
PAGINATION_WALK_PAGES = 40


def reset_catalog() -> None:
    # A long-lived Locust UI sees techniques added since its previous test, and its
    # seeded users draw from the start again.
    global _user_serial
    CATALOG.endpoints = None
    _user_serial = itertools.count()


class PerflabUser(FastHttpUser):
    abstract = True
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        options = self.environment.parsed_options
        worker_index = getattr(self.environment.runner, "worker_index", 0)
        self.rng = user_rng(getattr(options, "seed", None), worker_index)
        # The API's answers: validators kept per URL and always sent back, so 304s are
        # exercised.
        self.validators = BrowserCache(revalidate=True)
        # Pagination walks: after a jump to page N, follow `next_cursor` like a real
        # client scrolling; keyset pays off on exactly these follow-up pages.
        self.walk: tuple[str, int] | None = None
        self.deepest_page: int | None = None
        # Pages that link CSS/JS: fetched as a browser would, with its own cache.
        self.browser = BrowserCache()

    @property
    def endpoints(self) -> dict[str, Endpoint]:
        with CATALOG.lock:
            if CATALOG.endpoints is None:
                with self.client.get("/techniques", catch_response=True) as resp:
                    if resp.status_code != 200:
                        resp.failure(f"/techniques: {_why(resp)}")
                        return {}
                    try:
                        CATALOG.endpoints = parse_techniques(resp.json())
                    except (ValueError, TypeError) as exc:
                        resp.failure(f"bad /techniques listing: {exc}")
                        return {}
            return CATALOG.endpoints

    def hit(self, technique: str) -> bool:
        """Call the technique's endpoint once and validate it; False if the API lacks it."""
        endpoint = REVIEW if technique == REVIEW.technique else self.endpoints.get(technique)
        if endpoint is None:
            return False
        call = build_call(endpoint, self.rng)
        if technique == "pagination":
            call = self._pagination_call(call)
        cacheable = call.method == "GET"
        held = self.validators.request_headers(call.url, 0) if cacheable else None
        headers = dict(held or {})
        conditional = bool(headers)
        if ADMIN_TOKEN and call.method in WRITE_METHODS:
            headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        with self.client.request(
            call.method, call.url, name=call.name, json=call.json, headers=headers,
            catch_response=True,
        ) as resp:  # fmt: skip
            if resp.status_code == 0:  # no HTTP answer at all: say why (refused, timeout)
                resp.failure(f"{technique}: {_why(resp)}")
                return True
            content_type = resp.headers.get("content-type", "") if resp.headers else ""
            problem = validate(
                technique, resp.status_code, content_type, resp.content or b"",
                conditional=conditional,
            )  # fmt: skip
            if problem:
                resp.failure(f"{technique}: {problem}")
            else:
                resp.success()
                if technique == "pagination":
                    self._follow(resp.json().get("next_cursor"))
                if recipe_for(technique).assets:
                    self._assets(resp.content or b"")
                if cacheable:  # a 200 replaces the validators held (the naive card has
                    # none), a 304 keeps them
                    self.validators.store(call.url, resp.status_code, resp.headers or {}, 0)
        return True

    def hit_first(self, *techniques: str) -> bool:
        """Call the first of `techniques` this service lists (e.g. its book page)."""
        return any(self.hit(technique) for technique in techniques)

    def _assets(self, html: bytes) -> None:
        """Fetch the page's CSS/JS like a browser: fresh copies are not requested at all,
        stale ones are revalidated (a 304 is a success)."""
        for url in asset_links(html):
            headers = self.browser.request_headers(url, time.monotonic())
            if headers is None:
                continue  # fresh in the browser's cache: no request
            with self.client.get(
                url, name=asset_name(url), headers=headers, catch_response=True
            ) as resp:
                if resp.status_code not in (200, 304) or (
                    resp.status_code == 200 and not resp.content
                ):
                    resp.failure(f"asset {url}: {_why(resp)}")
                    continue
                resp.success()
                self.browser.store(url, resp.status_code, resp.headers or {}, time.monotonic())

    def _pagination_call(self, call: Call) -> Call:
        """Continue the walk, or start one at a deep page (the deeper, the more OFFSET pays)."""
        if self.walk is not None:
            return replace(call, params={"cursor": self.walk[0]})
        if self.deepest_page is None:
            self.deepest_page = self._deepest_page(call)
        page = self.rng.randint(max(1, self.deepest_page // 2), self.deepest_page)
        return replace(call, params={"page": page})

    def _deepest_page(self, call: Call) -> int:
        # Halve from far beyond any seed scale until a page has items: a few requests once.
        page = 1 << 14
        while page > 1:
            with self.client.get(
                f"{call.path}?page={page}", name=call.name, catch_response=True
            ) as resp:
                if resp.status_code == 200 and resp.json().get("items"):
                    return page
                resp.success()
            page //= 2
        return 1

    def _follow(self, cursor: str | None) -> None:
        pages_left = PAGINATION_WALK_PAGES if self.walk is None else self.walk[1] - 1
        self.walk = (cursor, pages_left) if cursor and pages_left > 0 else None

    def missing(self, technique: str) -> None:
        """Count a technique this API does not serve as a failure, visible in the report."""
        if CATALOG.endpoints is None:
            return  # the listing itself failed, and that failure is already counted
        self.environment.events.request.fire(
            request_type="CHECK",
            name=f"technique {technique}",
            response_time=0,
            response_length=0,
            response=None,
            context={},
            exception=LookupError(f"GET /techniques does not list {technique!r}"),
        )


def _why(resp: object) -> str:
    error = getattr(resp, "error", None)
    return f"no answer ({error})" if error else f"HTTP {getattr(resp, 'status_code', '?')}"
