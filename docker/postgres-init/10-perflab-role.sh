#!/usr/bin/env bash
# Runs once, when the postgres container initialises its data: the application role
# `perflab` (owner of the lab's database and tables, no superuser) with its password
# from the postgres_password secret; psql quotes it (:'password'), nothing is spliced.
set -euo pipefail
password=$(cat /run/secrets/postgres_password)
if [ -z "$password" ]; then
  echo "error: the postgres_password secret is empty (set PERFLAB_POSTGRES_PASSWORD)" >&2
  exit 1
fi
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname postgres \
  --set password="$password" <<'SQL'
CREATE ROLE perflab WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
  NOBYPASSRLS PASSWORD :'password';
CREATE DATABASE perflab OWNER perflab;
REVOKE ALL ON DATABASE perflab FROM PUBLIC;
SQL
