"""The lab CLI's client for the API's flag endpoints (`GET /flags`, `PUT /flags/{name}`)."""

from __future__ import annotations

import os
from typing import Any

import httpx


class FlagsError(RuntimeError):
    """A flag request failed; the message says why and what to do."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class FlagsClient:
    def __init__(self, base_url: str, token: str | None = None):
        self.base_url = base_url
        # No actor header: the API records who flipped a flag from the credential.
        headers: dict[str, str] = {}
        token = token if token is not None else os.environ.get("PERFLAB_ADMIN_TOKEN")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._token_sent = bool(token)
        self._http = httpx.Client(base_url=base_url, headers=headers, timeout=5.0)

    def __enter__(self) -> FlagsClient:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            answer = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise FlagsError(
                f"cannot reach the API at {self.base_url} ({exc.__class__.__name__}); "
                "is the lab up? run ./scripts/lab up"
            ) from exc
        if answer.status_code == 401:
            hint = (
                "PERFLAB_ADMIN_TOKEN was rejected"
                if self._token_sent
                else "set PERFLAB_ADMIN_TOKEN to the API's admin token"
            )
            raise FlagsError(f"{method} {path}: 401 Unauthorized: {hint}", 401)
        if answer.status_code >= 400:
            raise FlagsError(
                f"{method} {path}: HTTP {answer.status_code}: {answer.text[:200]}",
                answer.status_code,
            )
        return answer.json()

    def list(self) -> list[dict[str, Any]]:
        return list(self._request("GET", "/flags")["flags"])

    def set(self, name: str, enabled: bool) -> dict[str, Any]:
        try:
            return dict(self._request("PUT", f"/flags/{name}", json={"enabled": enabled}))
        except FlagsError as exc:
            if exc.status == 404:
                raise FlagsError(f"unknown flag {name!r}; `lab flags` lists them") from exc
            raise
