#!/usr/bin/env bash
# Builds the API image with docker, or podman when docker is absent.
# Usage: scripts/docker-build.sh [TAG]   (default sensor-alerts:latest; BASE_IMAGE overrides the base)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/container-engine.sh
TAG=${1:-sensor-alerts:latest}
"$ENGINE" build "${BUILD_FLAGS[@]}" \
  --build-arg "BASE_IMAGE=${BASE_IMAGE:-node:20-bookworm-slim}" \
  -f docker/Dockerfile -t "$TAG" .
echo "built $TAG with $ENGINE"
