"""Typed dependencies: `Res`, `Pool`, `RedisClient`, `Flags`."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from redis.asyncio import Redis

from perflab.api.resources import Resources
from perflab.flags.store import FlagStore


def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


def get_pool(request: Request) -> asyncpg.Pool:
    return get_resources(request).pool


def get_redis(request: Request) -> Redis:
    return get_resources(request).redis


def get_flags(request: Request) -> FlagStore:
    return get_resources(request).flags


Res = Annotated[Resources, Depends(get_resources)]
Pool = Annotated[asyncpg.Pool, Depends(get_pool)]
RedisClient = Annotated[Redis, Depends(get_redis)]
Flags = Annotated[FlagStore, Depends(get_flags)]
