#!/usr/bin/env bash
# Dump every PostGIS database (pg_dumpall, gzip) to a file on this host; arg: the file (default: postgis-<date>.sql.gz)
# Usage: doit exec:postgis-dump [FILE]
# A relative FILE is relative to the folder kargo was run from (KARGO_PWD).
# Restore: gunzip -c FILE | docker exec -i
# <container> psql -U "$POSTGIS_ROOT_USER" postgres
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/lib/service.sh"

out=${1:-postgis-$(date +%Y%m%d-%H%M%S).sql.gz}
case $out in /*) ;; *) out="${KARGO_PWD:-.}/$out" ;; esac
container=$(container_of postgis)
tmp="$out.partial"
trap 'rm -f "$tmp"' EXIT  # no half dump left behind
# the password goes by the environment, never on a command line (ps shows those):
# `-e NAME` without a value passes docker exec's own
PGPASSWORD="$POSTGIS_ROOT_PASSWORD" docker exec -e PGPASSWORD "$container" \
    pg_dumpall -h 127.0.0.1 -U "$POSTGIS_ROOT_USER" | gzip > "$tmp"
mv "$tmp" "$out"
echo "dumped to $out"
