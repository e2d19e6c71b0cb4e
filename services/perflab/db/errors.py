"""Which database errors mean "Postgres is unavailable" (a 503), not a bad statement.

asyncpg reports a lost or refused connection in several shapes, depending on the
moment it broke: the server's own SQLSTATE (class 08, and 57P01-57P03 while it
shuts down or starts up, 53300 when it has no connection slot left), a broken
protocol state (`InternalClientError: cannot switch to state ...` when the socket
dies mid-query), a plain `InterfaceError: connection is closed`, or an OS error or
timeout from the socket itself. Everything else (a constraint, bad SQL, a value out
of range) is a fault of the request or of the code, never of the server's health.
"""

from __future__ import annotations

import asyncpg

_SERVER_GONE: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # 08xxx, ConnectionDoesNotExistError included
    asyncpg.CannotConnectNowError,  # 57P03: starting up or shutting down
    asyncpg.AdminShutdownError,  # 57P01: fast shutdown, pg_terminate_backend
    asyncpg.CrashShutdownError,  # 57P02: another backend crashed
    asyncpg.TooManyConnectionsError,  # 53300: no connection slot left
)
# InterfaceError's subclasses are about the client's input or configuration
# (DataError, ClientConfigurationError...); only the plain one says "closed".
_CLOSED = (asyncpg.InterfaceError,)


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` says Postgres cannot be reached or the connection broke."""
    if isinstance(exc, _SERVER_GONE):
        return True
    if type(exc) in _CLOSED:
        return True
    if isinstance(exc, asyncpg.InternalClientError):
        # A stale statement cache is a schema change, not a dead server.
        return not isinstance(exc, asyncpg.OutdatedSchemaCacheError)
    # TimeoutError is an OSError: a command timeout means the server did not answer.
    return isinstance(exc, OSError)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
