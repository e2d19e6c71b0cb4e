"""The lab's Postgres and Redis, from the machine's server binaries."""

from __future__ import annotations

import shutil
import signal
import stat
from pathlib import Path

from perflab.lab import health, secrets
from perflab.lab import postgres as pg
from perflab.lab import redis as redis_proc
from perflab.lab.components import Component, LabContext
from perflab.procs import UNPRIVILEGED_USER, StartError, is_root


def _unreachable_parent(path: Path, user: str) -> Path | None:
    """The first folder above `path` that `user` cannot enter, if any."""
    import pwd

    uid = pwd.getpwnam(user).pw_uid
    for folder in reversed(path.parents):
        if not folder.exists():
            break
        info = folder.stat()
        if not (info.st_mode & stat.S_IXOTH or info.st_uid == uid):
            return folder
    return None


def _postgres_bin() -> str | None:
    try:
        return str(pg.find_bin_dir() / "postgres")
    except StartError:
        return None


def postgres(ctx: LabContext) -> Component:
    data = ctx.paths.data("pgdata")
    log = ctx.paths.log_file("postgres")
    port = ctx.ports.postgres

    def prepare() -> None:
        if is_root():
            blocked = _unreachable_parent(data, UNPRIVILEGED_USER)
            if blocked is not None:
                raise StartError(
                    f"postgres: runs as user {UNPRIVILEGED_USER!r}, who cannot enter {blocked}; "
                    "set PERFLAB_LAB__STATE_DIR to a folder it can reach (e.g. /var/tmp/perflab)"
                )
        pg.init_cluster(data, log, ctx.secrets.ensure().value(secrets.POSTGRES_SUPERUSER))

    return Component(
        name="postgres",
        port=port,
        port_key="postgres",
        url=ctx.db_dsn,
        match=(f"-D {data} ",),
        start=lambda: pg.start(data, port, log),
        healthy=lambda: health.postgres_accepts(
            pg.superuser_dsn(port, ctx.secrets.value(secrets.POSTGRES_SUPERUSER))
        ),
        paths=ctx.paths,
        binary=_postgres_bin(),
        package="postgresql",
        prepare=prepare,
        # Fast shutdown: end client sessions instead of waiting for them.
        stop_signal=signal.SIGINT,
    )


def redis(ctx: LabContext) -> Component:
    port = ctx.ports.redis
    return Component(
        name="redis",
        port=port,
        port_key="redis",
        url=ctx.redis_url,
        # Redis renames its process to "redis-server 127.0.0.1:<port>" once started.
        match=(f"redis-server 127.0.0.1:{port}", f"{redis_proc.CONFIG} --port {port} "),
        start=lambda: redis_proc.start(
            port,
            ctx.paths.data("redis"),
            ctx.paths.log_file("redis"),
            ctx.secrets.ensure().value(secrets.REDIS),
        ),
        healthy=lambda: health.redis_pings(port, ctx.secrets.value(secrets.REDIS)),
        paths=ctx.paths,
        binary=shutil.which("redis-server"),
        package="redis-server",
    )
