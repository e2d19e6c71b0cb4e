"""`lab smoke`: is a running stack (native or compose) healthy end to end?

For every web service (FastAPI, Django, ...), in order: `/healthz` and `/readyz`
(naming Postgres or Redis when one is down); every technique its `/techniques` lists,
called with its flag off and on (the answer must be right and come from the variant
the flag asks for); a flip reaching every process of that service (its `GET /flags`)
and its `/metrics` (`perflab_flag_enabled`). Then every Prometheus target `up`, the
console's page, and a short Locust burst with zero failures against each service (its
reports in a temp folder that is removed after). Flags are always flipped through the
API and put back as they were, even when a check fails. Prints a checklist; a failure
names its component.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape

from perflab.lab.flags_client import FlagsClient, FlagsError
from perflab.lab.load import LoadError, LoadOptions, loadgen, run_load

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


def _dependency(answer: httpx.Response) -> str | None:
    try:
        body = answer.json()
    except ValueError:
        return None
    return body.get("dependency") if isinstance(body, dict) else None


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


def check_burst(api: str, seconds: int, output: Path | None) -> Check:
    """A short Locust run; its reports go to `output`, or to a temp folder removed after."""
    if output is not None:
        return _burst(api, seconds, output, keep=True)
    with tempfile.TemporaryDirectory(prefix="perflab-smoke-") as scratch:
        return _burst(api, seconds, Path(scratch), keep=False)


def _log_tail(log: Path, lines: int = 5) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def _burst(api: str, seconds: int, out: Path, *, keep: bool) -> Check:
    what = f"{seconds}-second Locust burst at {api}, zero failures"
    opts = LoadOptions(scenario="all", users=10, spawn_rate=10, duration=f"{seconds}s", host=api,
                       output=out)  # fmt: skip
    try:
        result = run_load(opts, Console(quiet=True))
    except LoadError as exc:
        return Check("locust", what, False, str(exc))
    total = result.total
    if total is None or total.requests == 0:
        # The folder goes away with this call unless kept: quote the log, not its path.
        log = out / "locust.log"
        where = f"see {log}" if keep else f"locust.log ends: {_log_tail(log)}"
        return Check("locust", what, False, f"no requests made; {where}")
    if not result.ok:
        worst = "; ".join(f"{f.occurrences}× {f.name}: {f.error}" for f in result.failures[:3])
        return Check("locust", what, False, f"{total.failures}/{total.requests} failed: {worst}")
    return Check(
        "locust",
        what,
        True,
        f"{total.requests} requests, 0 failures" + (f" ({out})" if keep else ""),
    )


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


@contextmanager
def _restoring(flags: FlagsClient) -> Iterator[None]:
    """Whatever happens, every flag ends as it was before the smoke test."""
    before = {f["name"]: f["enabled"] for f in flags.list()}
    try:
        yield
    finally:
        after = {f["name"]: f["enabled"] for f in flags.list()}
        for name, enabled in before.items():
            if after.get(name) != enabled:
                flags.set(name, enabled)


def run_smoke(
    api: str,
    prometheus: str | None,
    *,
    services: dict[str, str] | None = None,
    burst_seconds: int = 10,
    output: Path | None = None,
    console: str | None = None,
    on_check: Callable[[Check], None] = lambda _: None,
) -> list[Check]:
    """`services`: component name -> base URL of each web service to check (default:
    the API only, as `api`); flags are flipped through `api` in every case."""
    checks: list[Check] = []
    services = services or {"api": api}

    def add(*new: Check) -> None:
        for check in new:
            checks.append(check)
            on_check(check)

    # Technique writes (a review, a bulk import) need the admin token when the API has one.
    token = os.environ.get("PERFLAB_ADMIN_TOKEN")
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    for component, url in services.items():
        with httpx.Client(base_url=url, timeout=30, headers=auth) as http:
            health = check_health(http, component)
            add(*health)
            if not all(c.ok for c in health):
                why = f"{'API' if component == 'api' else component} not ready"
                add(Check(f"{component} techniques", "flags and endpoints", False, why,
                          skipped=True))  # fmt: skip
                continue
            with FlagsClient(api) as flags, _restoring(flags):
                add(*check_techniques(http, flags, component))
                add(check_propagation(http, flags, component=component))
    if prometheus:
        add(*check_prometheus(prometheus))
    if console and not any(c.skipped for c in checks):
        add(check_console(console))  # it shows the API's techniques: only with an API up
    if burst_seconds > 0 and not any(c.skipped for c in checks):
        for index, url in enumerate(services.values()):
            folder = output / f"{index}" if output and len(services) > 1 else output
            add(check_burst(url, burst_seconds, folder))
    return checks


def _line(check: Check) -> str:
    mark = "[yellow]–[/]" if check.skipped else "[green]✓[/]" if check.ok else "[red]✗[/]"
    detail = f" [dim]{escape(check.detail)}[/]" if check.detail else ""
    return f"{mark} [bold]{escape(check.component)}[/] {escape(check.what)}{detail}"


def smoke_command(
    api: Annotated[
        str | None,
        typer.Option(help="API base URL (default: the lab's); alone, smoke checks only it."),
    ] = None,
    service: Annotated[
        list[str] | None,
        typer.Option(help="Check only this service (repeatable; default: every lab service)."),
    ] = None,
    prometheus: Annotated[
        str | None, typer.Option(help="Prometheus URL (default: the lab's; '' skips).")
    ] = None,
    burst: Annotated[int, typer.Option(min=0, help="Locust burst seconds (0 skips).")] = 10,
    console_url: Annotated[
        str | None,
        typer.Option("--console", help="Console URL (default: the lab's; '' skips)."),
    ] = None,
) -> None:
    """Smoke-test a running stack: health, each technique both ways, flips, targets, load."""
    from perflab.lab import services as lab_services
    from perflab.lab.components import LabContext

    ctx = LabContext.load()
    console = Console(width=None if sys.stdout.isatty() else 120)
    names = service or (["fastapi"] if api else [s.name for s in lab_services.SERVICES])
    try:
        chosen = [lab_services.by_name(name) for name in names]
    except lab_services.UnknownService as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    api = api or ctx.api_url
    targets = {s.job: (api if s.name == "fastapi" else s.url(ctx.ports)) for s in chosen}
    prom = ctx.url(ctx.ports.prometheus) if prometheus is None else prometheus
    board = ctx.url(ctx.ports.console) if console_url is None else console_url
    console.print(f"smoke test of {', '.join(targets.values())}" + (f" and {prom}" if prom else ""))
    checks = run_smoke(api, prom or None, services=targets, burst_seconds=burst,
                       console=board or None,
                       on_check=lambda c: console.print(_line(c), highlight=False))  # fmt: skip
    failed = [c for c in checks if not c.ok and not c.skipped]
    if failed:
        console.print(f"[bold red]smoke: {len(failed)} check(s) failed[/]")
        for check in failed:
            console.print(f" - {escape(f'{check.component}: {check.what} {check.detail}')}")
        raise typer.Exit(1)
    console.print(f"[bold green]smoke: all {len(checks)} checks passed[/]")
