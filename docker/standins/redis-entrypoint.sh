#!/usr/bin/env bash
# Stand-in for the official redis image's entrypoint: runs as redis, protected mode off.
set -euo pipefail

if [ "${1:0:1}" = '-' ] || [[ "$1" == *.conf ]]; then
  set -- redis-server "$@"
fi
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec gosu redis "${BASH_SOURCE[0]}" "$@"
fi
# The official build defaults protected mode to off: the container's network is the fence.
if [ "$1" = redis-server ] && [[ " $* " != *" --protected-mode "* ]]; then
  set -- "$@" --protected-mode no
fi
exec "$@"
