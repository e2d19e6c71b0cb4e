"""Stored profiles: kept in Redis for a while, shared by every process of every service.

A profile taken by one API worker must be readable through any other (the next
request may land anywhere), and by the Django and Flask services too, so profiles
live in Redis under `perflab:profile:<id>` with a TTL, compressed JSON. Ids are 96
random bits: the link in `X-Profile-Url` is the capability to read the profile.
Helpers for both client kinds: `save`/`load` (redis.asyncio), `save_sync`/`load_sync`.
"""

from __future__ import annotations

import json
import re
import secrets
import zlib
from typing import Any

from pyinstrument.renderers import ConsoleRenderer, HTMLRenderer
from pyinstrument.session import Session

from perflab.profile import memory
from perflab.profile.capture import Kind, Profile

KEY_PREFIX = "perflab:profile:"
_ID = re.compile(r"^[A-Za-z0-9_-]{16}$")
FORMATS = ("html", "text", "json")


def new_id() -> str:
    return secrets.token_urlsafe(12)


def valid_id(profile_id: str) -> bool:
    return bool(_ID.match(profile_id))


def key(profile_id: str) -> str:
    return KEY_PREFIX + profile_id


def encode(profile: Profile) -> bytes:
    record = {**profile.summary(), "data": profile.data}
    return zlib.compress(json.dumps(record, separators=(",", ":")).encode(), 6)


def decode(raw: bytes) -> Profile:
    record = json.loads(zlib.decompress(raw))
    return Profile(
        id=record["id"],
        kind=Kind(record["kind"]),
        service=record["service"],
        request=record["request"],
        status=record["status"],
        seconds=record["seconds"],
        pid=record["pid"],
        created=record["created"],
        data=record["data"],
    )


async def save(redis: Any, profile: Profile, ttl_seconds: int) -> None:
    await redis.set(key(profile.id), encode(profile), ex=ttl_seconds)


async def load(redis: Any, profile_id: str) -> Profile | None:
    raw = await redis.get(key(profile_id)) if valid_id(profile_id) else None
    return decode(raw) if raw is not None else None


def save_sync(redis: Any, profile: Profile, ttl_seconds: int) -> None:
    redis.set(key(profile.id), encode(profile), ex=ttl_seconds)


def load_sync(redis: Any, profile_id: str) -> Profile | None:
    raw = redis.get(key(profile_id)) if valid_id(profile_id) else None
    return decode(raw) if raw is not None else None


def default_format(profile: Profile) -> str:
    return "html" if profile.kind is Kind.CPU else "json"


def render(profile: Profile, fmt: str | None) -> tuple[str, str]:
    """The profile as `(body, media type)`: cpu as pyinstrument's HTML page (or its
    text tree), memory as JSON (or a text table). `fmt` must be one of `FORMATS`."""
    fmt = fmt or default_format(profile)
    if fmt == "json":
        return json.dumps({**profile.summary(), "data": profile.data}), "application/json"
    if profile.kind is Kind.MEMORY:
        if fmt == "html":
            raise ValueError("memory profiles are json or text")
        header = f"{profile.request} (pid {profile.pid}, {profile.seconds * 1000:.1f} ms)\n"
        return header + memory.as_text(profile.data), "text/plain; charset=utf-8"
    session = Session.from_json(profile.data["session"])
    if fmt == "html":
        return HTMLRenderer().render(session), "text/html; charset=utf-8"
    return ConsoleRenderer(unicode=True).render(session), "text/plain; charset=utf-8"
