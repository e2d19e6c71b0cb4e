"""What `lab smoke` asks one running stack over HTTP, each answer a `Check`.

A web service's `/healthz` and `/readyz` (naming Postgres or Redis when one is down);
every technique its `/techniques` lists, called with its flag off and on (the answer
must be right and come from the variant the flag asks for); a flag flip reaching every
process of the service (`GET /flags`) and its `/metrics`; every Prometheus target `up`;
the console's page.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

import httpx

from perflab.lab.flags_client import FlagsClient, FlagsError
from perflab.lab.load import loadgen

PROPAGATION_SECONDS = 1.0  # the flags contract
_GRACE_SECONDS = 1.0  # HTTP round trips on a busy machine, on top of the contract
VARIANT_HEADER = "x-technique-variant"


@dataclass(frozen=True)
class Check:
    component: str
    what: str
    ok: bool
    detail: str = ""
    skipped: bool = False


def check_health(http: httpx.Client, component: str = "api") -> list[Check]:
    try:
        live = http.get("/healthz")
    except httpx.HTTPError as exc:
        return [Check(component, "/healthz", False, f"not reachable at {http.base_url} ({exc})")]
    checks = [Check(component, "/healthz", live.status_code == 200, f"HTTP {live.status_code}")]
    ready = http.get("/readyz")
    if ready.status_code == 200:
        return [*checks, Check(component, "/readyz", True, "postgres and redis reachable")]
    try:
        deps = ready.json().get("checks", {})
    except ValueError:
        deps = {}
    down = [(name, result) for name, result in deps.items() if not result.get("ok")]
    for name, result in down:
        error = result.get("error", "unavailable")
        checks.append(Check(name, "/readyz", False, f"reports {name} unavailable: {error}"))
    if not down:
        checks.append(
            Check(component, "/readyz", False, f"HTTP {ready.status_code}: {ready.text[:200]}")
        )
    return checks


def _call(http: httpx.Client, endpoint: Any, expect: str) -> str | None:
    """One call at the expected variant (waiting for the flip to arrive); None if right."""
    recipes = loadgen("recipes")
    deadline = time.monotonic() + PROPAGATION_SECONDS + _GRACE_SECONDS
    while True:
        call = recipes.build_call(endpoint, random.Random(7))
        answer = http.request(call.method, call.url, json=call.json)
        variant = answer.headers.get(VARIANT_HEADER)
        # No variant header: an error answered before the technique ran; validate says which.
        if variant in (expect, None) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    kind = answer.headers.get("content-type", "")
    problem = recipes.validate(endpoint.technique, answer.status_code, kind, answer.content)
    if problem is None and variant != expect:
        return f"answered by the {variant or 'unknown'} variant, expected {expect}"
    if problem is None and (etag := answer.headers.get("etag")):
        again = http.request(call.method, call.url, headers={"If-None-Match": etag})
        kind = again.headers.get("content-type", "")
        problem = recipes.validate(
            endpoint.technique, again.status_code, kind, again.content, conditional=True
        )
    return problem


def _technique(name: str, component: str) -> str:
    return f"technique {name}" if component == "api" else f"{component} technique {name}"


def check_techniques(http: httpx.Client, flags: FlagsClient, component: str = "api") -> list[Check]:
    recipes = loadgen("recipes")
    listing = http.get("/techniques")
    try:
        endpoints = recipes.parse_techniques(listing.json())
    except ValueError as exc:
        return [Check(component, "/techniques", False, f"HTTP {listing.status_code}: {exc}")]
    state = {f["name"]: f["enabled"] for f in flags.list()}
    checks = []
    for name, endpoint in endpoints.items():
        problems = []
        # The other state first, then back: each flag ends where it started.
        for enabled in (not state.get(name, True), state.get(name, True)):
            variant = "optimised" if enabled else "naive"
            try:
                flags.set(name, enabled)
                problem = _call(http, endpoint, variant)
            except (FlagsError, httpx.HTTPError) as exc:
                problem = str(exc)
            if problem:
                problems.append(f"{variant}: {problem}")
        what = f"{endpoint.method} {endpoint.path} naive + optimised"
        checks.append(Check(_technique(name, component), what, not problems, "; ".join(problems)))
    return checks


def _flag_metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(f'perflab_flag_enabled{{flag="{name}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return None


def check_propagation(
    http: httpx.Client, flags: FlagsClient, name: str = "n_plus_one", component: str = "api"
) -> Check:
    """Flip one flag through the API; every `GET /flags` of the service at `http` (any of
    its processes) and its `/metrics` must follow."""
    original = next(f["enabled"] for f in flags.list() if f["name"] == name)
    wanted = not original
    what = f"a flip of {name} reaches every {component} process and /metrics"
    flags.set(name, wanted)
    started = time.monotonic()
    deadline = started + PROPAGATION_SECONDS + _GRACE_SECONDS
    streak = 0  # consecutive agreeing answers: with several workers, each may answer
    while time.monotonic() < deadline and streak < 10:
        seen = {f["name"]: f["enabled"] for f in http.get("/flags").json()["flags"]}
        streak = streak + 1 if seen.get(name) == wanted else 0
    metric = _flag_metric(http.get("/metrics").text, name)
    took = time.monotonic() - started
    flags.set(name, original)
    if streak < 10:
        return Check(
            "flags", what, False, f"GET /flags still answered {original} after {took:.1f}s"
        )
    if metric != float(wanted):
        return Check("flags", what, False, f"perflab_flag_enabled is {metric}, expected {wanted:d}")
    return Check("flags", what, True, f"10 consecutive reads agree after {took:.2f}s")


def check_prometheus(url: str, settle_seconds: float = 15.0) -> list[Check]:
    """Every active target `up` (a Prometheus just started gets a few seconds to settle)."""
    deadline = time.monotonic() + settle_seconds
    while True:
        try:
            targets = httpx.get(f"{url}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            return [Check("prometheus", "targets", False, f"not reachable at {url} ({exc})")]
        # A Prometheus that just started has no targets yet, then `unknown` ones.
        settled = targets and all(t["health"] != "unknown" for t in targets)
        if settled or time.monotonic() > deadline:
            break
        time.sleep(1)
    if not targets:
        return [Check("prometheus", "targets", False, f"{url} has no active targets")]
    checks = []
    for target in targets:
        job = target["labels"].get("job", "?")
        ok = target["health"] == "up"
        detail = target["scrapeUrl"] + (
            "" if ok else f" is {target['health']}: {target['lastError']}"
        )
        checks.append(Check(f"prometheus target {job}", "up", ok, detail))
    return checks


def check_console(url: str) -> Check:
    """The console answers: its page lists the techniques (it reads them from the API)."""
    try:
        page = httpx.get(f"{url}/", timeout=10)
    except httpx.HTTPError as exc:
        return Check("console", "page", False, f"not reachable at {url} ({exc})")
    if page.status_code != 200:
        return Check("console", "page", False, f"HTTP {page.status_code} at {url}/")
    cards = page.text.count('class="card"')
    if cards == 0:
        return Check("console", "page", False, f"{url}/ shows no technique card")
    return Check("console", "page", True, f"{url}/ shows {cards} technique cards")
