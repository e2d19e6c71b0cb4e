"""`GET /flags`, `PUT /flags/{name}`, `GET /flags/history`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict

from perflab.api.deps import Res
from perflab.api.middleware.admin import actor_of
from perflab.api.responses import ADMIN, CONFLICT, NOT_FOUND, WRITE
from perflab.api.techniques import REGISTRY
from perflab.flags.catalog import FLAGS

router = APIRouter(prefix="/flags", tags=["flags"])


class FlagOut(BaseModel):
    name: str
    enabled: bool
    description: str
    technique: str


class FlagsOut(BaseModel):
    flags: list[FlagOut]


class FlagChange(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    enabled: bool


class FlipOut(BaseModel):
    flag: str
    old: bool
    new: bool
    actor: str
    at: str


def _flag_out(name: str, enabled: bool) -> FlagOut:
    return FlagOut(name=name, enabled=enabled, description=FLAGS[name], technique=name)


@router.get("", response_model=FlagsOut)
async def list_flags(res: Res) -> FlagsOut:
    state = res.flags.state.snapshot()
    return FlagsOut(flags=[_flag_out(name, value) for name, value in state.items()])


@router.get("/history", response_model=list[FlipOut])
async def flag_history(
    res: Res, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[FlipOut]:
    return [FlipOut(**vars(flip)) for flip in await res.flags.history(limit)]


@router.put(
    "/{name}",
    response_model=FlagOut,
    responses={**NOT_FOUND, **CONFLICT, **WRITE},
    openapi_extra=ADMIN,
)
async def set_flag(name: str, change: FlagChange, res: Res, request: Request) -> FlagOut:
    """Turn a flag on or off. The admin token (when configured) is checked before
    anything else; the flip's recorded actor is the credential, not a header."""
    res.flags.state.check(name)
    flip = await res.flags.set(name, change.enabled, actor_of(request.state))
    technique = REGISTRY.get(name)
    if technique is not None and technique.on_flip is not None and flip.old != flip.new:
        await technique.on_flip(flip.new, res)
    return _flag_out(name, flip.new)
