#!/usr/bin/env bash
# Stand-in for the official postgres image's entrypoint (same variables, paths and user).
set -euo pipefail

if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi
if [ "$1" != postgres ]; then
  exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec gosu postgres "${BASH_SOURCE[0]}" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  # As upstream's file_env: the password may come from a file (a Docker secret).
  if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
    POSTGRES_PASSWORD=$(cat "$POSTGRES_PASSWORD_FILE")
  fi
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
    echo "error: database is uninitialized and POSTGRES_PASSWORD is not set" >&2
    echo "       (set it, or POSTGRES_HOST_AUTH_METHOD=trust)" >&2
    exit 1
  fi
  initdb=(initdb -D "$PGDATA" --username="$user" --auth-local=trust --auth-host="$auth")
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of arguments, as upstream
  if [ -n "${POSTGRES_PASSWORD:-}" ]; then
    "${initdb[@]}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") ${POSTGRES_INITDB_ARGS:-}
  else
    "${initdb[@]}" ${POSTGRES_INITDB_ARGS:-}
  fi
  printf '\nhost all all all %s\n' "$auth" >> "$PGDATA/pg_hba.conf"

  # A private server on the socket only, as upstream, for the database and init scripts.
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start
  psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$user" --dbname postgres)
  if [ "$db" != postgres ]; then
    "${psql[@]}" --set db="$db" <<<'CREATE DATABASE :"db";'
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) echo "running $f"; bash "$f" ;;
      *.sql) echo "running $f"; "${psql[@]}" --dbname "$db" -f "$f" ;;
      *) ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop
  echo "PostgreSQL init process complete; ready for start up."
fi

exec "$@"
