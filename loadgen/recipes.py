"""How to call each technique endpoint, and what a correct answer looks like.

Standard library and the lab's catalog only: the Locust users and `lab smoke` both use
it. The method and path of every technique come from the service's `GET /techniques`;
its recipe (query, body, expected status, body shape) comes from its catalog entry
(`perflab.catalog`, `Load`). A technique the catalog does not know still gets called
(GET/POST with valid ids, any 2xx with a well-formed body), so a service's new
technique is load-tested before anyone writes its entry.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from perflab.catalog import TECHNIQUES as CATALOG
from perflab.catalog import Load

# Every technique the lab ships; one Locust user class each.
TECHNIQUES = tuple(CATALOG)

# Ids that exist at any seed scale >= 0.01 (20 authors, 200 books and users, 5k orders).
ID_RANGES: Mapping[str, int] = {"book_id": 200, "user_id": 200, "order_id": 5000, "author_id": 20}
_PARAM = re.compile(r"\{(\w+)\}")

Check = Callable[[Any], "str | None"]


def fill_path(template: str, rng: random.Random, ids: Mapping[str, int] | None = None) -> str:
    """`/books/{book_id}` -> `/books/17`: a seeded id for every path parameter."""
    ranges = {**ID_RANGES, **(ids or {})}
    return _PARAM.sub(lambda m: str(rng.randint(1, ranges.get(m.group(1), 1))), template)


# --- body checks: each returns None when the body is right, else what is wrong ---


def _keys(obj: Any, keys: tuple[str, ...], what: str) -> str | None:
    if not isinstance(obj, dict):
        return f"{what} is {type(obj).__name__}, expected an object"
    missing = [k for k in keys if k not in obj]
    return f"{what} lacks {', '.join(missing)}" if missing else None


def object_with(*keys: str) -> Check:
    return lambda data: _keys(data, keys, "body")


def list_of(*keys: str) -> Check:
    def check(data: Any) -> str | None:
        if not isinstance(data, list):
            return f"body is {type(data).__name__}, expected a list"
        return _keys(data[0], keys, "first item") if data else "body is an empty list"

    return check


def non_empty(data: Any) -> str | None:
    return None if data not in (None, {}, [], "") else "body is empty"


@dataclass(frozen=True)
class Endpoint:
    technique: str
    method: str
    path: str  # the template, e.g. /books/{book_id}


@dataclass(frozen=True)
class Recipe:
    query: Callable[[random.Random], dict[str, Any]] | None = None
    body: Callable[[random.Random], Any] | None = None
    statuses: frozenset[int] = frozenset({200})
    kind: str = "json"  # json | csv | html | any
    check: Check = non_empty
    # Narrower id ranges for this endpoint (e.g. a hot set, so revalidations happen).
    ids: Mapping[str, int] = field(default_factory=dict)
    # An HTML page whose CSS/JS a browser-like user fetches too (see browser_cache.py).
    assets: bool = False
    # A dependency whose 503 naming it is a designed answer (see catalog.spec.Load).
    fails_fast_on: str | None = None


def _bulk_orders(rng: random.Random) -> list[dict[str, int]]:
    return [
        {
            "user_id": rng.randint(1, ID_RANGES["user_id"]),
            "book_id": rng.randint(1, ID_RANGES["book_id"]),
            "quantity": rng.randint(1, 3),
        }
        for _ in range(20)
    ]


def _review(rng: random.Random) -> dict[str, Any]:
    stars = rng.randint(1, 5)
    user = rng.randint(1, ID_RANGES["user_id"])
    return {"user_id": user, "rating": stars, "body": f"{stars} stars from the load generator"}


BODIES: dict[str, Callable[[random.Random], Any]] = {"bulk_orders": _bulk_orders}


def _ranges(
    query: Mapping[str, tuple[int, int]], choices: Mapping[str, tuple[str, ...]]
) -> Callable[[random.Random], dict[str, Any]]:
    def draw(rng: random.Random) -> dict[str, Any]:
        params: dict[str, Any] = {key: rng.randint(low, high) for key, (low, high) in query.items()}
        params.update({key: rng.choice(values) for key, values in choices.items()})
        return params

    return draw


def from_catalog(load: Load) -> Recipe:
    """The recipe a catalog entry's `Load` describes."""
    check = (list_of if load.shape == "list" else object_with)(*load.keys)
    return Recipe(
        query=_ranges(load.query, load.choices) if load.query or load.choices else None,
        body=BODIES[load.body] if load.body else None,
        statuses=frozenset(load.statuses),
        kind=load.kind,
        check=check if load.keys else non_empty,
        ids=load.ids,
        assets=load.assets,
        fails_fast_on=load.fails_fast_on,
    )


RECIPES: dict[str, Recipe] = {name: from_catalog(spec.load) for name, spec in CATALOG.items()}
# Not a technique: a visitor's review (it also invalidates response_cache's leaderboard).
REVIEW = Endpoint("review", "POST", "/books/{book_id}/reviews")
RECIPES[REVIEW.technique] = Recipe(
    body=_review, statuses=frozenset({201}), check=object_with("id", "book_id", "rating")
)
# Any 2xx; JSON is checked only when the answer says it is JSON.
_GENERIC = Recipe(statuses=frozenset({200, 201, 202}), kind="any")


def recipe_for(technique: str) -> Recipe:
    return RECIPES.get(technique, _GENERIC)


@dataclass(frozen=True)
class Call:
    """One concrete request: `name` is the template, so ids never become labels."""

    method: str
    path: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None

    @property
    def url(self) -> str:
        return f"{self.path}?{urlencode(self.params)}" if self.params else self.path


def build_call(endpoint: Endpoint, rng: random.Random) -> Call:
    recipe = recipe_for(endpoint.technique)
    method = endpoint.method.upper()
    body = recipe.body(rng) if recipe.body else ({} if method in ("POST", "PUT") else None)
    return Call(
        method=method,
        path=fill_path(endpoint.path, rng, recipe.ids),
        name=endpoint.path,
        params=recipe.query(rng) if recipe.query else {},
        json=body,
    )


def validate(
    technique: str, status: int, content_type: str, content: bytes, *, conditional: bool = False
) -> str | None:
    """None when the answer is right; otherwise a one-line reason (the failure message)."""
    recipe = recipe_for(technique)
    if status == 304:
        return None if conditional else "304 Not Modified without If-None-Match"
    if status == 503 and recipe.fails_fast_on is not None:
        return _names_dependency(content, recipe.fails_fast_on)
    if status not in recipe.statuses:
        snippet = content[:120].decode(errors="replace")
        return f"status {status} (expected {sorted(recipe.statuses)}): {snippet}"
    if recipe.kind == "csv":
        return _check_csv(content_type, content)
    if recipe.kind == "html":
        if "html" not in content_type:
            return f"content-type {content_type or '(none)'}, expected HTML"
        return None if content.strip() else "empty body"
    if recipe.kind == "json" or "json" in content_type:
        if "json" not in content_type:
            return f"content-type {content_type or '(none)'}, expected JSON"
        try:
            data = json.loads(content)
        except ValueError as exc:
            return f"invalid JSON: {exc}"
        return recipe.check(data)
    return None if content else "empty body"


def _check_csv(content_type: str, content: bytes) -> str | None:
    if "csv" not in content_type:
        return f"content-type {content_type or '(none)'}, expected text/csv"
    lines = content.split(b"\n", 2)
    if len(lines) < 2 or not lines[1].strip():
        return "CSV has no data row"
    header = lines[0].decode(errors="replace").strip().split(",")
    return None if "id" in header else f"CSV header lacks id: {header[:6]}"


def parse_techniques(data: Any) -> dict[str, Endpoint]:
    """`GET /techniques` body -> {technique name: endpoint}; raises ValueError if malformed."""
    if not isinstance(data, dict) or not isinstance(data.get("techniques"), list):
        raise ValueError("expected {'techniques': [...]}")
    endpoints = {}
    for item in data["techniques"]:
        problem = _keys(item, ("name", "method", "path"), "technique")
        if problem:
            raise ValueError(problem)
        endpoints[item["name"]] = Endpoint(item["name"], item["method"].upper(), item["path"])
    return endpoints


def _names_dependency(content: bytes, dependency: str) -> str | None:
    try:
        named = json.loads(content).get("dependency")
    except (ValueError, AttributeError):
        named = None
    if named == dependency:
        return None
    return f"status 503 naming {named!r}, expected one naming {dependency!r}"
