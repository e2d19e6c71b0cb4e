"""`GET /profiles/{id}` (a stored per-request profile) and `POST /profiles/memory`.

Both answer 404 while profiling is off (`PERFLAB_PROFILING__ENABLED`). A profile id is
the capability to read it (it comes in the `X-Profile-Url` of the profiled answer);
starting a memory window needs the admin token when one is configured.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response

from perflab.api.deps import Res
from perflab.api.responses import BAD_REQUEST, CONFLICT, NOT_FOUND
from perflab.errors import BadRequest, Conflict, NotFound, Unauthorized
from perflab.profile import store
from perflab.profile.capture import PROFILES_PATH, Kind, Profile, authorized
from perflab.profile.memory import Busy, MemoryCapture

router = APIRouter(prefix=PROFILES_PATH, tags=["profiles"])


def _require_enabled(res: Res) -> None:
    if not res.settings.profiling.enabled:
        raise NotFound("profiling is off (set PERFLAB_PROFILING__ENABLED=true and restart)")


@router.post("/memory", responses={**NOT_FOUND, **BAD_REQUEST, **CONFLICT})
async def memory_window(
    res: Res,
    seconds: Annotated[float, Query(gt=0, description="How long to trace allocations.")] = 5.0,
    top: Annotated[int, Query(ge=1, le=200)] = 25,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Trace this process's allocations for `seconds` (tracemalloc), then report where
    the memory that is still held was allocated. One API process: the one that took
    this request, named by `pid`."""
    _require_enabled(res)
    settings = res.settings.profiling
    if not authorized(res.settings.admin_token, authorization):
        raise Unauthorized("memory windows need 'Authorization: Bearer <admin token>'")
    if seconds > settings.max_window_seconds:
        raise BadRequest(
            f"seconds={seconds:g} is longer than the limit "
            f"(PERFLAB_PROFILING__MAX_WINDOW_SECONDS={settings.max_window_seconds:g})"
        )
    capture = MemoryCapture(settings.memory_frames)
    try:
        capture.start()
    except Busy as exc:
        raise Conflict(str(exc)) from exc
    try:
        await asyncio.sleep(seconds)
    finally:
        took, data = capture.stop(top=top)
    profile = Profile(
        id=store.new_id(), kind=Kind.MEMORY, service="api",
        request=f"memory window {seconds:g} s", status=None, seconds=took, data=data,
    )  # fmt: skip
    await store.save(res.redis, profile, settings.ttl_seconds)
    return {**profile.summary(), "url": f"{PROFILES_PATH}/{profile.id}", "data": data}


@router.get("/{profile_id}")
async def get_profile(
    profile_id: str,
    res: Res,
    format: Annotated[Literal["html", "text", "json"] | None, Query()] = None,
) -> Response:
    """A stored profile: cpu as pyinstrument's HTML page by default, memory as JSON;
    `?format=text` for either as text, `?format=json` for the raw record."""
    _require_enabled(res)
    profile = await store.load(res.redis, profile_id)
    if profile is None:
        raise NotFound(f"no profile {profile_id!r} (unknown, or older than its TTL)")
    try:
        body, media_type = store.render(profile, format)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    return Response(body, media_type=media_type)
