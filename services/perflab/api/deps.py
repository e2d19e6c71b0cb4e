"""Typed dependencies: `Res`, `Pool`, `RedisClient`, `Flags`."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from redis.asyncio import Redis

from perflab.api.resources import Resources
from perflab.flags.store import FlagStore


def _resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


# `async def` on purpose: FastAPI runs a sync dependency in the threadpool, a thread
# round trip per dependency per request (measured: a quarter of the CPU of a request).
async def get_resources(request: Request) -> Resources:
    return _resources(request)


async def get_pool(request: Request) -> asyncpg.Pool:
    return _resources(request).pool


async def get_redis(request: Request) -> Redis:
    return _resources(request).redis


async def get_flags(request: Request) -> FlagStore:
    return _resources(request).flags


Res = Annotated[Resources, Depends(get_resources)]
Pool = Annotated[asyncpg.Pool, Depends(get_pool)]
RedisClient = Annotated[Redis, Depends(get_redis)]
Flags = Annotated[FlagStore, Depends(get_flags)]
