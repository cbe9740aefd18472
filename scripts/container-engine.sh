# Sourced by the docker-* scripts: picks docker when its engine answers, podman otherwise.
#   ENGINE        docker | podman
#   BUILD_FLAGS   extra `build` flags (podman's default OCI format drops HEALTHCHECK)
#   compose ...   `docker compose`, `docker-compose` or podman-compose, whichever fits
if docker info >/dev/null 2>&1; then
  ENGINE=docker
  BUILD_FLAGS=()
elif command -v podman >/dev/null 2>&1; then
  ENGINE=podman
  BUILD_FLAGS=(--format docker)
  export BUILDAH_FORMAT=docker
else
  echo "neither a docker engine nor podman is available" >&2
  exit 1
fi

compose() {
  if [ "$ENGINE" = docker ] && docker compose version >/dev/null 2>&1; then
    docker compose "$@"
  elif [ "$ENGINE" = docker ]; then
    docker-compose "$@"
  else
    podman-compose "$@"
  fi
}
