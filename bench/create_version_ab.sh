#!/usr/bin/env bash
# Durable create-version throughput of two vouch binaries, alternately, for a before/after figure
# (docs/benchmarks.md, "Storage faults"): BIN_A then BIN_B, ROUNDS times, each on a fresh data
# directory, loaded like `make bench`'s native create-version row (wrk -t2 -c32,
# bench/vouch_create_version.lua, 2 s warm-up, then DURATION measured). Prints "before|after REQ/S".
#   BIN_A=/path/old/vouch BIN_B=build/release/vouch ROUNDS=4 bench/create_version_ab.sh
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/vouch-ab.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
TOKEN=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')

run() {
  local label=$1 bin=$2 dir pid url="" rps
  dir=$(mktemp -d "$WORK/$label.XXXX")
  VOUCH_BOOTSTRAP_TOKEN=$TOKEN "$bin" serve --data-dir "$dir/data" --listen 127.0.0.1:0 \
    --log-level warn >"$dir/out" 2>"$dir/err" &
  pid=$!
  for _ in $(seq 600); do
    url=$(grep -o 'http://127.0.0.1:[0-9]*' "$dir/out" 2>/dev/null | head -1 || true)
    [ -n "$url" ] && break
    sleep 0.05
  done
  [ -n "$url" ] || { echo "$label: the server did not start" >&2; cat "$dir/err" >&2; exit 1; }
  curl -sf -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"name":"bench"}' "$url/api/v1/models" >/dev/null
  wrk -t2 -c32 -d2s -H "Authorization: Bearer $TOKEN" -s "$REPO/bench/vouch_create_version.lua" \
    "$url" >/dev/null 2>&1
  rps=$(wrk -t2 -c32 -d"$DURATION" -H "Authorization: Bearer $TOKEN" \
    -s "$REPO/bench/vouch_create_version.lua" "$url" 2>&1 | awk '/Requests\/sec/ {print $2}')
  kill -TERM "$pid"
  wait "$pid" || true
  echo "$label $rps"
}

for _ in $(seq "$ROUNDS"); do
  run before "${BIN_A:?BIN_A: the binary before the change}"
  run after "${BIN_B:-$REPO/build/release/vouch}"
done
