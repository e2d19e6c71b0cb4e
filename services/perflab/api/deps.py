"""Typed dependencies: `Res`, `Pool`, `RedisClient`, `Flags`."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from redis.asyncio import Redis

from perflab.api.resources import Resources
from perflab.flags.store import FlagStore


def resources(request: Request) -> Resources:
    """The app's resources, without the dependency machinery: FastAPI solves each
    dependency per request (~25 us with its cache key and parameter checks), which a
    hot endpoint answering in ~0.2 ms of CPU notices; those take `request` instead."""
    found: Resources = request.app.state.resources
    return found


# `async def` on purpose: FastAPI runs a sync dependency in the threadpool, a thread
# round trip per dependency per request (measured: a quarter of the CPU of a request).
async def get_resources(request: Request) -> Resources:
    return resources(request)


async def get_pool(request: Request) -> asyncpg.Pool:
    return resources(request).pool


async def get_redis(request: Request) -> Redis:
    return resources(request).redis


async def get_flags(request: Request) -> FlagStore:
    return resources(request).flags


Res = Annotated[Resources, Depends(get_resources)]
Pool = Annotated[asyncpg.Pool, Depends(get_pool)]
RedisClient = Annotated[Redis, Depends(get_redis)]
Flags = Annotated[FlagStore, Depends(get_flags)]
