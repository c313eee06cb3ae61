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
# the password stays in the environment: never on a command line (ps shows those)
docker exec -e PGPASSWORD="$POSTGIS_ROOT_PASSWORD" "$container" \
    pg_dumpall -h 127.0.0.1 -U "$POSTGIS_ROOT_USER" | gzip > "$tmp"
mv "$tmp" "$out"
echo "dumped to $out"
