#!/usr/bin/env bash
# Stand-in for the official haproxy image's entrypoint: master-worker, in the foreground.
set -euo pipefail

if [ "${1:0:1}" = '-' ]; then
  set -- haproxy "$@"
fi
if [ "$1" = haproxy ]; then
  shift
  set -- haproxy -W -db "$@"
fi
exec "$@"
