#!/usr/bin/env bash
# Remove the tiles of the MapProxy cache (every cache, or the ones named) in the running mapproxy container
# Usage: doit exec:mapproxy-clear [CACHE ...]
# A cache's tiles are the folders <cache>_<grid> under the cache volume
# (globals.cache.base_dir of configs/mapproxy/mapproxy.yaml); MapServer has
# no cache of its own: MapProxy is the one in front of it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/lib/service.sh"

container=$(container_of mapproxy)
docker exec "$container" sh -c '
    cd /mapproxy/cache_data || exit 1
    if [ $# -eq 0 ]; then set -- *; fi
    removed=0
    for cache in "$@"; do
        case $cache in locks|tile_locks) continue ;; esac
        for folder in "$cache" "$cache"_*; do
            if [ -d "$folder" ]; then rm -rf "$folder"; removed=$((removed + 1)); fi
        done
    done
    echo "removed $removed cache folder(s)"
' mapproxy-clear "$@"
