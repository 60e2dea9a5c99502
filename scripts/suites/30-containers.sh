#!/usr/bin/env bash
# The container image and the Docker Compose cloud, with real containers (deploy/tests/containers.py):
# image built from $EPHEMERAL_BIN (FROM scratch), three party containers on private networks,
# the seed example on secrets uploaded from the host, then a killed, a paused and a
# disconnected party, and restarts that keep every secret. Needs Docker Engine and
# docker-compose (both on the CI machine); cleans up containers, networks and the image.
set -euo pipefail
: "${EPHEMERAL_BIN:?run through scripts/test, which sets EPHEMERAL_BIN}"
for tool in docker docker-compose python3; do
  command -v "$tool" >/dev/null || { echo "30-containers: $tool is not installed" >&2; exit 1; }
done
docker info >/dev/null 2>&1 || { echo "30-containers: the Docker daemon is not running" >&2; exit 1; }
exec python3 -u deploy/tests/containers.py
