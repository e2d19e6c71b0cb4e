"""`/docs` and `/redoc` load every asset from the API itself (the browser test renders them)."""

from __future__ import annotations

import re

import httpx
import pytest

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_pages_name_only_assets_the_api_serves(
    app_client: httpx.AsyncClient, page: str
) -> None:
    answer = await app_client.get(page)
    assert answer.status_code == 200
    html = answer.text
    assert "https://" not in html and "http://" not in html, html  # no CDN, no fonts
    assets = re.findall(r'(?:src|href)="(/static/docs/[^"]+)"', html)
    assert assets, html
    for asset in assets:
        served = await app_client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 500, asset
    assert "/openapi.json" in html
    assert (await app_client.get("/openapi.json")).status_code == 200


async def test_the_vendored_licences_ship_with_the_assets(app_client: httpx.AsyncClient) -> None:
    for path in ("/static/docs/swagger-ui/LICENSE", "/static/docs/redoc/LICENSE"):
        assert (await app_client.get(path)).status_code == 200, path
