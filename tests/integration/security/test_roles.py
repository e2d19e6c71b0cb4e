"""No local user gets in: passwords everywhere, and the application role is no superuser.

The test stack's Postgres and Redis are made by the lab's own code (secrets,
initdb, roles), so these hold for `lab up` too (tests/e2e/test_lab_runner.py checks
the files of a real `lab up`).
"""

from __future__ import annotations

import stat
from pathlib import Path

import asyncpg
import pytest
import redis

from perflab.lab import postgres as pg
from perflab.lab import secrets
from perflab.settings import Settings
from tests.support.servers import Server, secrets_of

pytestmark = pytest.mark.integration


async def test_the_application_role_cannot_run_programs_or_read_server_files(
    settings: Settings,
):
    conn = await asyncpg.connect(settings.db.dsn)
    try:
        role = await conn.fetchrow(
            "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls,"
            " pg_has_role(current_user, 'pg_execute_server_program', 'MEMBER') AS programs,"
            " pg_has_role(current_user, 'pg_read_server_files', 'MEMBER') AS files"
            " FROM pg_roles WHERE rolname = current_user"
        )
        assert dict(role) == {
            "rolname": pg.APP_ROLE, "rolsuper": False, "rolcreaterole": False,
            "rolcreatedb": False, "rolbypassrls": False, "programs": False, "files": False,
        }  # fmt: skip
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("COPY (SELECT 1) TO PROGRAM 'id'")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetchval("SELECT pg_read_file('/etc/passwd')")
        # ...and yet it owns every table of the lab (the seed and db_index need that).
        owners = await conn.fetch(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
        )
        assert [r["tableowner"] for r in owners] == [pg.APP_ROLE]
    finally:
        await conn.close()


@pytest.mark.parametrize("user", [pg.APP_ROLE, pg.SUPERUSER])
@pytest.mark.parametrize("password", [None, "wrong"])
async def test_postgres_refuses_loopback_connections_without_the_password(
    postgres_server: Server, user: str, password: str | None
):
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(
            host="127.0.0.1", port=postgres_server.port, user=user, password=password,
            database="postgres", timeout=5,
        )  # fmt: skip


def test_redis_refuses_commands_without_the_password(redis_server: Server):
    client = redis.Redis(port=redis_server.port, socket_timeout=2)
    try:
        with pytest.raises(redis.AuthenticationError):
            client.hset("perflab:flags", "gzip", "0")
    finally:
        client.close()


def test_secrets_are_private_and_on_no_command_line(lab_root: Path, redis_server: Server):
    keys = secrets_of(lab_root)
    assert stat.S_IMODE(keys.folder.stat().st_mode) == 0o700
    for name in secrets.GENERATED:
        assert stat.S_IMODE(keys.path(name).stat().st_mode) == 0o600, name
        assert len(keys.value(name)) >= 24
    cmdline = Path(f"/proc/{redis_server.proc.pid}/cmdline").read_bytes()
    assert keys.value(secrets.REDIS).encode() not in cmdline
