#!/bin/sh
# Like the official haproxy image's entrypoint: arguments starting with '-' are haproxy's; haproxy
# runs in master-worker mode (-W) in the foreground (-db) so the container's main process is it.
set -e
if [ "${1#-}" != "$1" ]; then
  set -- haproxy "$@"
fi
if [ "$1" = haproxy ]; then
  shift
  set -- haproxy -W -db "$@"
fi
exec "$@"
