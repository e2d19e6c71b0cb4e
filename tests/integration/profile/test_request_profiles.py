"""Per-request profiles (`X-Profile: cpu|memory`) on the API, against real servers.

A real uvicorn with two processes and profiling on: the answer is unchanged, it links
a stored profile, and that profile is readable through any process (Redis). In this
process, apps built with other settings: profiling off ignores the header, and with an
admin token a request without it is not profiled.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from perflab.api.app import create_app
from perflab.settings import ProfilingSettings, Settings
from tests.support.servers import Server, service_env, uvicorn_server

pytestmark = pytest.mark.integration

BOOKS = "/books?limit=50"
TOKEN = "profile-test-token"


@pytest.fixture(scope="module")
def profiled_api(
    lab_root: Path, settings_env: dict[str, str], celery_worker_server: Server
) -> Iterator[str]:
    env = service_env(settings_env, {"PERFLAB_PROFILING__ENABLED": "true"})
    with uvicorn_server(lab_root, env, workers=2, name="api-profiles") as url:
        yield url


def _same_answer(plain: httpx.Response, profiled: httpx.Response) -> None:
    assert profiled.status_code == plain.status_code == 200
    assert profiled.content == plain.content
    for header in ("content-type", "x-technique-variant", "x-db-queries"):
        assert profiled.headers.get(header) == plain.headers.get(header), header


async def test_cpu_profile_leaves_the_answer_alone_and_is_stored(
    profiled_api: str,
    set_flag,  # noqa: ANN001
) -> None:
    # The naive path: 101 statements' worth of Python, so its frames are surely sampled.
    await set_flag("n_plus_one", False)
    async with httpx.AsyncClient(base_url=profiled_api, timeout=30) as client:
        for _ in range(50):  # the flip reaches both processes within a second
            plain = await client.get(BOOKS)
            if plain.headers["x-technique-variant"] == "naive":
                break
            await asyncio.sleep(0.1)
        profiled = await client.get(BOOKS, headers={"X-Profile": "cpu"})
        assert profiled.headers["x-technique-variant"] == "naive"
        _same_answer(plain, profiled)
        assert "x-profile-url" not in plain.headers
        url = profiled.headers["x-profile-url"]
        assert url.startswith("/profiles/")
        # Fetched several times: the two processes share the store.
        pages = [await client.get(url) for _ in range(4)]
        text = await client.get(url, params={"format": "text"})
        raw = (await client.get(url, params={"format": "json"})).json()
    for page in pages:
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "pyinstrument" in page.text.lower()
    # The text tree names the technique's code that ran for this request.
    assert text.status_code == 200 and "n_plus_one.py" in text.text, text.text[:2000]
    assert raw["kind"] == "cpu" and raw["request"] == f"GET {BOOKS}"
    assert raw["status"] == 200 and raw["seconds"] > 0


def test_memory_profile_leaves_the_answer_alone_and_reports_allocation_sites(
    profiled_api: str,
) -> None:
    with httpx.Client(base_url=profiled_api, timeout=30) as client:
        # A flag put back by the previous test reaches each of the two processes within
        # 1 s: until then the two requests may meet different variants.
        for _ in range(30):
            plain = client.get(BOOKS)
            profiled = client.get(BOOKS, headers={"X-Profile": "memory"})
            if plain.headers["x-technique-variant"] == profiled.headers["x-technique-variant"]:
                break
            time.sleep(0.1)
        _same_answer(plain, profiled)
        stored = client.get(profiled.headers["x-profile-url"])
        text = client.get(profiled.headers["x-profile-url"], params={"format": "text"})
    assert stored.status_code == 200 and stored.headers["content-type"] == "application/json"
    record = stored.json()
    data = record["data"]
    assert record["kind"] == "memory" and record["status"] == 200
    assert data["peak_bytes"] >= data["held_bytes"] > 0
    assert data["top"] and all(row["bytes"] > 0 and ":" in row["site"] for row in data["top"])
    assert data["stacks"] and all(stack["frames"] for stack in data["stacks"])
    assert "peak traced memory" in text.text and data["top"][0]["site"] in text.text


def test_unknown_kind_is_not_profiled_and_says_why(profiled_api: str) -> None:
    answer = httpx.get(f"{profiled_api}{BOOKS}", headers={"X-Profile": "disk"})
    assert answer.status_code == 200 and "x-profile-url" not in answer.headers
    assert "cpu or memory" in answer.headers["x-profile-skipped"]


def test_unknown_profile_is_404_and_a_bad_format_422(profiled_api: str) -> None:
    missing = httpx.get(f"{profiled_api}/profiles/AAAAAAAAAAAAAAAA")
    assert missing.status_code == 404 and "no profile" in missing.json()["error"]
    profiled = httpx.get(f"{profiled_api}{BOOKS}", headers={"X-Profile": "memory"})
    url = profiled_api + profiled.headers["x-profile-url"]
    assert httpx.get(url, params={"format": "pdf"}).status_code == 422
    html = httpx.get(url, params={"format": "html"})
    assert html.status_code == 400 and "json or text" in html.json()["error"]


def test_memory_window_reports_what_the_process_allocated(profiled_api: str) -> None:
    answer = httpx.post(f"{profiled_api}/profiles/memory", params={"seconds": 0.5}, timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # uvloop's timers run on libuv's millisecond clock, read once per loop turn: a 0.5 s
    # sleep can end a fraction of a millisecond early (CI saw 0.499894 s).
    assert body["kind"] == "memory" and body["pid"] > 0 and body["seconds"] >= 0.498
    assert httpx.get(profiled_api + body["url"]).json()["data"] == body["data"]
    too_long = httpx.post(f"{profiled_api}/profiles/memory", params={"seconds": 600})
    assert too_long.status_code == 400 and "MAX_WINDOW_SECONDS" in too_long.json()["error"]


@pytest.fixture
async def app_with(settings: Settings):  # noqa: ANN201
    """Builds the API in this process with changed settings; closes what it opened."""
    opened: list = []

    async def build(**changes: object) -> httpx.AsyncClient:
        app = create_app(settings.model_copy(update=changes))
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lab")
        opened.append((lifespan, client))
        return client

    yield build
    for lifespan, client in reversed(opened):
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


async def test_without_the_setting_the_header_is_ignored(app_with) -> None:  # noqa: ANN001
    client: httpx.AsyncClient = await app_with()
    answer = await client.get(BOOKS, headers={"X-Profile": "cpu"})
    assert answer.status_code == 200
    assert "x-profile-url" not in answer.headers and "x-profile-skipped" not in answer.headers
    window = await client.post("/profiles/memory", params={"seconds": 0.1})
    assert window.status_code == 404 and "PERFLAB_PROFILING__ENABLED" in window.json()["error"]


async def test_with_an_admin_token_only_requests_carrying_it_are_profiled(
    app_with,  # noqa: ANN001
) -> None:
    client: httpx.AsyncClient = await app_with(
        profiling=ProfilingSettings(enabled=True), admin_token=SecretStr(TOKEN)
    )
    plain = await client.get(BOOKS)
    refused = await client.get(BOOKS, headers={"X-Profile": "cpu"})
    wrong = await client.get(
        BOOKS, headers={"X-Profile": "cpu", "Authorization": "Bearer not-the-token"}
    )
    for answer in (refused, wrong):
        assert answer.status_code == 200 and answer.content == plain.content
        assert "x-profile-url" not in answer.headers
        assert "admin token" in answer.headers["x-profile-skipped"]
    allowed = await client.get(
        BOOKS, headers={"X-Profile": "cpu", "Authorization": f"Bearer {TOKEN}"}
    )
    assert allowed.content == plain.content and "x-profile-url" in allowed.headers
    stored = await client.get(allowed.headers["x-profile-url"], params={"format": "json"})
    assert json.loads(stored.content)["kind"] == "cpu"
    window = await client.post("/profiles/memory", params={"seconds": 0.1})
    assert window.status_code == 401
