#!/usr/bin/env bash
# Dump every MongoDB database (mongodump --archive --gzip) to a file on this host; arg: the file
# Usage: doit exec:mongodb-dump [FILE]   (default: mongodb-<date>.archive.gz)
# A relative FILE is relative to the folder kargo was run from (KARGO_PWD).
# Restore: docker exec -i <container> mongorestore --archive --gzip < FILE
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/lib/service.sh"

out=${1:-mongodb-$(date +%Y%m%d-%H%M%S).archive.gz}
case $out in /*) ;; *) out="${KARGO_PWD:-.}/$out" ;; esac
container=$(container_of mongodb)
tmp="$out.partial"
trap 'rm -f "$tmp"' EXIT  # no half dump left behind
docker exec "$container" mongodump --quiet --archive --gzip > "$tmp"
mv "$tmp" "$out"
echo "dumped to $out"
