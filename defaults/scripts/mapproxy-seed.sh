#!/usr/bin/env bash
# Seed the MapProxy cache now (configs/seeder/seed.yaml) in the running mapproxy container; args: seed names
# Usage: doit exec:mapproxy-seed [SEED ...]   (default: every seed of the file)
# The seeder job of the jobs stack does the same on each deploy; this runs
# it on demand, with mapproxy's own configuration and cache.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/lib/service.sh"

container=$(container_of mapproxy)
docker exec -i "$container" sh -c 'cat > /tmp/kargo-seed.yaml' < "$here/../configs/seeder/seed.yaml"
seeds=()
if [ $# -gt 0 ]; then
    seeds=(--seed "$(IFS=,; echo "$*")")
fi
docker exec "$container" mapproxy-seed -f /mapproxy/mapproxy.yaml -s /tmp/kargo-seed.yaml \
    -c "${SEEDER_CONCURRENCY:-2}" "${seeds[@]}"
