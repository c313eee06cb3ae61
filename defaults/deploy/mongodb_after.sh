#!/usr/bin/env bash
# Example hook: kargo runs deploy/<service>_after.sh once the stack containing
# <service> has converged (and deploy/<service>_before.sh before deploying it),
# with the resolved kargo environment. This one only reports the deployment;
# copy it into a workspace to add real post-deployment steps (e.g. create
# indexes or users with `docker exec`).
set -eu

echo "mongodb deployed (image ${MONGODB_IMAGE:-mongo}:${MONGODB_TAG:-?}, ${MONGODB_REPLICAS:-1} replica(s), network ${DOCKER_BACK_NETWORK:-?})"
