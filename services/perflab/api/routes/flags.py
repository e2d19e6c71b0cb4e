"""`GET /flags`, `PUT /flags/{name}`, `GET /flags/history`."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict

from perflab.api.deps import Res
from perflab.api.techniques import REGISTRY
from perflab.errors import Unauthorized
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


def _authorize(res: Res, authorization: str | None) -> None:
    token = res.settings.admin_token
    if token is None:
        return
    expected = f"Bearer {token.get_secret_value()}"
    if authorization is None or not hmac.compare_digest(authorization, expected):
        raise Unauthorized("flag changes need 'Authorization: Bearer <admin token>'")


@router.get("", response_model=FlagsOut)
async def list_flags(res: Res) -> FlagsOut:
    state = res.flags.state.snapshot()
    return FlagsOut(flags=[_flag_out(name, value) for name, value in state.items()])


@router.get("/history", response_model=list[FlipOut])
async def flag_history(
    res: Res, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[FlipOut]:
    return [FlipOut(**vars(flip)) for flip in await res.flags.history(limit)]


@router.put("/{name}", response_model=FlagOut)
async def set_flag(
    name: str,
    change: FlagChange,
    res: Res,
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_perflab_actor: Annotated[str | None, Header(max_length=100)] = None,
) -> FlagOut:
    res.flags.state.check(name)
    _authorize(res, authorization)
    client = request.client.host if request.client else "unknown"
    actor = x_perflab_actor or f"api:{client}"
    flip = await res.flags.set(name, change.enabled, actor)
    technique = REGISTRY.get(name)
    if technique is not None and technique.on_flip is not None and flip.old != flip.new:
        await technique.on_flip(flip.new, res)
    return _flag_out(name, flip.new)
