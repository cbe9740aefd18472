#!/usr/bin/env bash
# Runs the API image in the background, weights on a named volume that outlives the container.
# Usage: scripts/docker-run.sh [TAG]   (API_PORT, default 3000; NAME, default sensor-alerts)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/container-engine.sh
TAG=${1:-sensor-alerts:latest}
NAME=${NAME:-sensor-alerts}
"$ENGINE" run -d --name "$NAME" --restart unless-stopped \
  -p "${API_PORT:-3000}:3000" -v sensor-alerts-weights:/data "$TAG" >/dev/null
echo "$NAME is running on http://localhost:${API_PORT:-3000} ($ENGINE); stop it with: $ENGINE stop $NAME"
