"""The native lab's secrets: generated on the first `lab up`, kept in the state folder.

`<state>/secrets/` (mode 0700) holds one file per secret (mode 0600), each read by
whatever needs it; no secret is ever on a command line (`ps` shows those to every
local user) or committed:

    postgres-superuser-password  the cluster's superuser `postgres`: the lab's own
                                 setup (roles, database) and health probe only
    postgres-password            the application role `perflab`: owner of the lab's
                                 tables, no superuser; the API, worker, seed, bench
    redis-password               Redis's `requirepass`: API, worker, Celery broker
    admin-token                  a copy of PERFLAB_ADMIN_TOKEN when one is set, for
                                 Alertmanager's webhook authorization (credentials_file)

The services read theirs through `PERFLAB_DB__PASSWORD_FILE` and
`PERFLAB_REDIS__PASSWORD_FILE` (perflab.settings). Delete the folder with the data
(`lab down --purge`): a secret must match the data it protects.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

POSTGRES_SUPERUSER = "postgres-superuser-password"
POSTGRES_APP = "postgres-password"
REDIS = "redis-password"
ADMIN_TOKEN = "admin-token"
GENERATED = (POSTGRES_SUPERUSER, POSTGRES_APP, REDIS)


@dataclass(frozen=True)
class LabSecrets:
    folder: Path

    @classmethod
    def under(cls, state_dir: Path) -> LabSecrets:
        return cls(state_dir / "secrets")

    def path(self, name: str) -> Path:
        return self.folder / name

    def exists(self) -> bool:
        return all(self.path(name).exists() for name in GENERATED)

    def ensure(self) -> LabSecrets:
        """Generate every missing secret (never replace one: the data depends on it)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        for name in GENERATED:
            if not self.path(name).exists():
                _write_private(self.path(name), secrets.token_urlsafe(24))
        return self

    def value(self, name: str) -> str:
        return self.path(name).read_text().strip()

    def keep_admin_token(self, token: str | None) -> Path | None:
        """Copy the admin token for Alertmanager (or drop a stale copy); its path if any."""
        path = self.path(ADMIN_TOKEN)
        if not token:
            path.unlink(missing_ok=True)
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_private(path, token)
        return path


def _write_private(path: Path, value: str) -> None:
    # Created 0600 before the secret is written: never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    path.chmod(0o600)
