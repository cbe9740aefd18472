#!/usr/bin/env bash
# Proves the image and the compose stack work, with docker or podman:
#   1. the compose file validates and the Dockerfile lints
#   2. the image builds, runs on a free port, gets healthy, runs as non-root, holds no
#      compiler or dev dependencies, and answers the case's flow
#   3. the compose stack comes up, keeps weights on its volume across down/up
#   4. the `postgres` profile: PostgreSQL and two API replicas over it share weights, lose no
#      concurrent adjust, and keep the weights on their volume across down/up
#   5. the `mqtt` profile: Mosquitto and an API reading its stream; readings published to the
#      broker raise and clear an alert, whose events arrive on the alerts topic, retained
# Cleans up everything it started. Needs `npm ci` done (it builds dist/ for its checks).
# Usage: scripts/container-smoke.sh   (BASE_IMAGE overrides the base image)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/container-engine.sh

RUN_ID="sa-smoke-$$"
TAG="sensor-alerts:$RUN_ID"
export BASE_IMAGE=${BASE_IMAGE:-node:20-bookworm-slim}
export API_PORT API_IMAGE=$TAG # the compose file's image: ours, never a sensor-alerts:latest of the user's

step() { printf '\n== %s\n' "$*"; }
# podman without systemd complains on every run/stop that it cannot schedule healthchecks
# (we run them by hand); keep everything else it says.
engine() { "$ENGINE" "$@" 2> >(grep -v 'unable to get systemd connection' >&2); }
# Runs a chatty command silently, showing its output only if it fails.
quietly() {
  local log status=0
  log=$(mktemp)
  "$@" >"$log" 2>&1 || status=$?
  [ "$status" = 0 ] || cat "$log" >&2
  rm -f "$log"
  return "$status"
}
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
get() { node -e 'fetch(process.argv[1]).then(async r=>{console.log(r.status, await r.text())}).catch(e=>{console.log(0, e.message)})' "$1"; }

wait_healthy() { # URL, what
  for _ in $(seq 1 60); do
    if [ "$(get "$1/health" | cut -d' ' -f1)" = 200 ]; then echo "ok  $2 answers /health"; return 0; fi
    sleep 1
  done
  echo "FAIL $2 never answered $1/health" >&2
  return 1
}

cleanup() {
  set +e
  "$ENGINE" rm -f -v "$RUN_ID" >/dev/null 2>&1
  # Docker's compose leaves the services of inactive profiles up on `down`.
  COMPOSE_PROFILES=postgres,mqtt COMPOSE_PROJECT_NAME=$RUN_ID compose -p "$RUN_ID" down -v >/dev/null 2>&1
  "$ENGINE" volume rm -f "${RUN_ID}_weights" "${RUN_ID}_pgdata" "${RUN_ID}_weights-mqtt" "${RUN_ID}_mosquitto" >/dev/null 2>&1
  "$ENGINE" rmi -f "$TAG" >/dev/null 2>&1
  [ -z "${STANDIN_IMAGE:-}" ] || "$ENGINE" rmi -f "$STANDIN_IMAGE" >/dev/null 2>&1
  [ -z "${MOSQUITTO_STANDIN_IMAGE:-}" ] || "$ENGINE" rmi -f "$MOSQUITTO_STANDIN_IMAGE" >/dev/null 2>&1
  "$ENGINE" image prune -f --filter label=sensor-alerts.stage=build >/dev/null 2>&1
}
trap cleanup EXIT

npm run build --silent

step "validate docker-compose.yml and lint docker/Dockerfile ($ENGINE)"
if [ "$ENGINE" = docker ] && docker compose version >/dev/null 2>&1; then docker compose config -q; else docker-compose -f docker-compose.yml config -q; fi
echo "ok  compose file is valid"
lint=$(npx --no-install dockerfile-utils lint docker/Dockerfile)
if [ -n "$lint" ]; then echo "$lint" >&2; exit 1; fi
echo "ok  Dockerfile lints clean"

step "build $TAG from $BASE_IMAGE"
started=$(date +%s)
quietly "$ENGINE" build "${BUILD_FLAGS[@]}" --build-arg "BASE_IMAGE=$BASE_IMAGE" -f docker/Dockerfile -t "$TAG" .
echo "ok  built in $(( $(date +%s) - started )) s, $("$ENGINE" image inspect "$TAG" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}')"

step "run the image"
API_PORT=$(free_port)
engine run -d --name "$RUN_ID" -p "127.0.0.1:$API_PORT:3000" "$TAG" >/dev/null
wait_healthy "http://127.0.0.1:$API_PORT" "the container"
if [ "$ENGINE" = podman ]; then
  podman healthcheck run "$RUN_ID" >/dev/null && echo "ok  the image's HEALTHCHECK passes"
else
  for _ in $(seq 1 30); do [ "$(docker inspect -f '{{.State.Health.Status}}' "$RUN_ID")" = healthy ] && break; sleep 1; done
  [ "$(docker inspect -f '{{.State.Health.Status}}' "$RUN_ID")" = healthy ] && echo "ok  the image's HEALTHCHECK passes"
fi
uid=$("$ENGINE" exec "$RUN_ID" id -u)
[ "$uid" != 0 ] || { echo "FAIL the server runs as root" >&2; exit 1; }
echo "ok  the server runs as uid $uid ($("$ENGINE" exec "$RUN_ID" id -un))"
"$ENGINE" exec "$RUN_ID" sh -c '! command -v gcc && ! command -v g++ && ! command -v make && ! command -v python3 && [ ! -d node_modules/typescript ] && [ ! -d node_modules/jest ]' >/dev/null \
  || { echo "FAIL the image holds a compiler toolchain or dev dependencies" >&2; exit 1; }
echo "ok  no compiler toolchain, no dev dependencies"
node dist/scripts/check-case-flow.js --url "http://127.0.0.1:$API_PORT"
"$ENGINE" exec "$RUN_ID" node dist/bin/train.js | sed 's/^/ok  in the container: /'
engine stop -t 15 "$RUN_ID" >/dev/null
[ "$("$ENGINE" inspect -f '{{.State.ExitCode}}' "$RUN_ID")" = 0 ] && echo "ok  SIGTERM stops it with exit code 0"
engine rm -f -v "$RUN_ID" >/dev/null

step "compose: up, write weights, down, up again"
API_PORT=$(free_port)
# The SQLite service by name: podman-compose 1.0.3 knows no profiles and would start them all.
quietly compose -p "$RUN_ID" up -d api
wait_healthy "http://127.0.0.1:$API_PORT" "the compose stack"
node dist/scripts/check-case-flow.js --url "http://127.0.0.1:$API_PORT" --sensor PERSIST01 | tail -1
compose -p "$RUN_ID" exec -T api node dist/bin/train.js 2> >(grep -v 'unable to get systemd connection' >&2) | grep '^trained' | sed 's/^/ok  compose exec: /'
alerts=$(get "http://127.0.0.1:$API_PORT/IAJ9206/alerts?value=0.09")
[ "$alerts" = '200 {"params.accelRMS.x":true,"params.accelRMS.y":false,"params.accelRMS.z":true,"params.velRMS.x":true,"params.velRMS.y":true,"params.velRMS.z":true}' ] \
  || { echo "FAIL alerts after training in the stack: $alerts" >&2; exit 1; }
echo "ok  the stack serves the trained columns: GET /IAJ9206/alerts?value=0.09 as in the case"
before=$(get "http://127.0.0.1:$API_PORT/PERSIST01/weights")
quietly compose -p "$RUN_ID" down
quietly compose -p "$RUN_ID" up -d api
wait_healthy "http://127.0.0.1:$API_PORT" "the compose stack, restarted"
after=$(get "http://127.0.0.1:$API_PORT/PERSIST01/weights")
[ "$before" = "$after" ] || { echo "FAIL weights lost across down/up: $before vs $after" >&2; exit 1; }
echo "ok  weights survived down/up on the volume: $after"

step "compose --profile postgres: PostgreSQL and two API replicas over it"
if [ "$ENGINE" = podman ] && [ -z "${POSTGRES_IMAGE:-}" ]; then
  # No registry here: a stand-in for the official image, built from Debian's packages.
  STANDIN_IMAGE="localhost/sensor-alerts-postgres:$RUN_ID"
  quietly "$ENGINE" build "${BUILD_FLAGS[@]}" --build-arg "BASE_IMAGE=$BASE_IMAGE" -f docker/postgres-standin/Dockerfile -t "$STANDIN_IMAGE" docker/postgres-standin
  export POSTGRES_IMAGE=$STANDIN_IMAGE
  echo "ok  built the PostgreSQL stand-in image (docker/postgres-standin)"
fi
export API_PG_1_PORT API_PG_2_PORT POSTGRES_PASSWORD
API_PG_1_PORT=$(free_port)
API_PG_2_PORT=$(free_port)
POSTGRES_PASSWORD="smoke-$RANDOM$RANDOM"
# podman-compose 1.0.3 has no --profile (it starts the services it is told); compose needs it.
profile=()
[ "$ENGINE" = docker ] && profile=(--profile postgres)
replicas=("http://127.0.0.1:$API_PG_1_PORT" "http://127.0.0.1:$API_PG_2_PORT")
quietly compose -p "$RUN_ID" "${profile[@]}" up -d postgres api-pg-1 api-pg-2
wait_healthy "${replicas[0]}" "replica 1"
wait_healthy "${replicas[1]}" "replica 2"
node dist/scripts/check-replicas.js --url "${replicas[0]}" --url "${replicas[1]}"
before=$(get "${replicas[1]}/REPLICA01/weights")
quietly compose -p "$RUN_ID" "${profile[@]}" down
quietly compose -p "$RUN_ID" "${profile[@]}" up -d postgres api-pg-1 api-pg-2
wait_healthy "${replicas[0]}" "replica 1, restarted"
after=$(get "${replicas[0]}/REPLICA01/weights")
[ "$before" = "$after" ] || { echo "FAIL weights lost across down/up: $before vs $after" >&2; exit 1; }
echo "ok  weights survived down/up on the pgdata volume: $after"

step "compose --profile mqtt: Mosquitto and an API scoring the readings published to it"
quietly compose -p "$RUN_ID" "${profile[@]}" down
if [ "$ENGINE" = podman ] && [ -z "${MOSQUITTO_IMAGE:-}" ]; then
  # No registry here: a stand-in for eclipse-mosquitto:2, built from Debian's package.
  MOSQUITTO_STANDIN_IMAGE="localhost/sensor-alerts-mosquitto:$RUN_ID"
  quietly "$ENGINE" build "${BUILD_FLAGS[@]}" --build-arg "BASE_IMAGE=$BASE_IMAGE" -f docker/mosquitto-standin/Dockerfile -t "$MOSQUITTO_STANDIN_IMAGE" docker/mosquitto
  export MOSQUITTO_IMAGE=$MOSQUITTO_STANDIN_IMAGE
  echo "ok  built the Mosquitto stand-in image (docker/mosquitto-standin)"
fi
export API_MQTT_PORT MQTT_PORT
API_MQTT_PORT=$(free_port)
MQTT_PORT=$(free_port)
profile=()
[ "$ENGINE" = docker ] && profile=(--profile mqtt)
quietly compose -p "$RUN_ID" "${profile[@]}" up -d mosquitto api-mqtt
mqtt_api="http://127.0.0.1:$API_MQTT_PORT"
wait_healthy "$mqtt_api" "the API of the mqtt profile"
post() { node -e 'fetch(process.argv[1],{method:"POST",headers:{"Content-Type":"application/json"},body:process.argv[2]}).then(async r=>{console.log(r.status, await r.text())}).catch(e=>{console.log(0, e.message)})' "$1" "$2"; }
fitted=$(post "$mqtt_api/MQTT01/fit" '{"values": [1, 2, 3, 4]}')
[ "${fitted%% *}" = 200 ] || [ "${fitted%% *}" = 201 ] || { echo "FAIL fit on the mqtt profile's API: $fitted" >&2; exit 1; }
broker() { compose -p "$RUN_ID" exec -T mosquitto "$@" 2> >(grep -v 'unable to get systemd connection' >&2); }
# The alerts topic's retained event once it has `state`, or nothing after ~30 s. Readings
# published before the API has subscribed are lost (no session yet): `publish` repeats them.
await_event() { # state, reading to publish on each try (empty: none)
  local event
  for _ in $(seq 1 30); do
    [ -z "$2" ] || broker mosquitto_pub -q 1 -t sensors/MQTT01/readings -m "$2" >/dev/null
    # podman-compose prints its own lines (the podman command, its version) on stdout too.
    event=$(broker mosquitto_sub -q 1 -t sensors/MQTT01/alerts -C 1 -W 1 2>/dev/null | grep '^{' | tail -1 || true)
    case "$event" in *"\"state\":\"$1\""*) printf '%s' "$event"; return 0 ;; esac
  done
  echo "FAIL no '$1' event on sensors/MQTT01/alerts; last seen: ${event:-nothing}" >&2
  return 1
}
# mean 2.5, sample std sqrt(5/3), threshold 2.5 + 2 sqrt(5/3) = 5.0820: 10 raises, 1 clears.
check_event() { # JSON, state, value, at
  node -e '
    const [json, state, value, at] = process.argv.slice(1);
    const event = JSON.parse(json);
    const std = Math.sqrt(5 / 3);
    const want = { sensor_id: "MQTT01", metric: "value", state, value: Number(value), mean: 2.5, std, threshold: 2.5 + 2 * std, z_score: (Number(value) - 2.5) / std, at };
    const wrong = Object.entries(want).filter(([key, expected]) =>
      typeof expected === "number" ? !(Math.abs(event[key] - expected) <= 1e-12 * Math.abs(expected)) : event[key] !== expected);
    if (wrong.length > 0) { console.error(`FAIL the ${state} event: ${wrong.map(([key]) => key).join(", ")} wrong in ${json}`); process.exit(1); }
  ' "$1" "$2" "$3" "$4"
}
raised=$(await_event raised '{"value": 10, "at": "2026-01-01T00:00:00.000Z"}')
check_event "$raised" raised 10 2026-01-01T00:00:00.000Z
echo "ok  a reading of 10 published to sensors/MQTT01/readings raised an alert: $raised"
broker mosquitto_pub -q 1 -t sensors/MQTT01/readings -m '{"metric": "value", "value": 1, "at": "2026-01-01T00:01:00.000Z"}' >/dev/null
cleared=$(await_event cleared '')
check_event "$cleared" cleared 1 2026-01-01T00:01:00.000Z
echo "ok  then a reading of 1 cleared it, and the cleared event is the topic's retained one: $cleared"
quietly compose -p "$RUN_ID" "${profile[@]}" down

step "container smoke passed"
