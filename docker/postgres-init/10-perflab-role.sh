#!/usr/bin/env bash
# Runs once, when the postgres container initialises its data: the application role
# `perflab` (owner of the lab's database and tables, no superuser) with its password
# from the secrets volume (compose.yaml); psql quotes it (:'password'), nothing is spliced.
set -euo pipefail
password=$(cat /run/perflab-secrets/postgres-password)
if [ -z "$password" ]; then
  echo "error: /run/perflab-secrets/postgres-password is empty" >&2
  exit 1
fi
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname postgres \
  --set password="$password" <<'SQL'
CREATE ROLE perflab WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
  NOBYPASSRLS PASSWORD :'password';
CREATE DATABASE perflab OWNER perflab;
REVOKE ALL ON DATABASE perflab FROM PUBLIC;
SQL
