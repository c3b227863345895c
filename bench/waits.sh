#!/usr/bin/env bash
# The waits benchmark (issue 12): get-version throughput on the native API with 1,000 concurrent
# `GET /api/v1/requests/{id}/wait` long polls held, against the same without them. Target: within
# 10% (ratio >= 0.90). Starts its own vouch on SQLite in a temporary directory, applies a policy no
# one can satisfy, opens one request, then runs wrk (bench/vouch_get_version.lua):
#   1. without waiters;  2. with BENCH_WAITERS long polls held by bench/hold_waits.py (each asking
#   again when its 25-s hold ends), once the server's `vouch_request_waiters` gauge says it holds
#   them all;  3. without them again (the figure "without" is the mean of 1 and 3, so a machine
#   that drifts during the run does not favour either side).
# Prints one line scripts/bench parses:
#   BENCH_RESULT without_rps=A with_rps=B ratio=B/A waiters=N held=H
# and fails if any request got a non-2xx answer. Every process started here is stopped on exit.
#
# Environment: VOUCH_BIN (default build/release/vouch), BENCH_DURATION (default 10s),
# BENCH_CONNECTIONS (32), BENCH_THREADS (2), BENCH_WAITERS (1000), BENCH_SETTLE (2).
set -euo pipefail
cd "$(dirname "$0")/.."

VOUCH=${VOUCH_BIN:-build/release/vouch}
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
WAITERS=${BENCH_WAITERS:-1000}
SETTLE=${BENCH_SETTLE:-2}
TOKEN=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
WORK=$(mktemp -d -t vouch-waits.XXXXXX)
SERVER_PID="" HOLD_PID=""

log() { printf '==> %s\n' "$*" >&2; }
die() {
  log "FAILED: $*"
  exit 1
}
cleanup() {
  local status=$?
  trap - EXIT
  if [ -n "$HOLD_PID" ]; then kill -TERM "$HOLD_PID" 2>/dev/null || true; fi
  if [ -n "$SERVER_PID" ]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v wrk >/dev/null || die "wrk is not installed"
[ -x "$VOUCH" ] || die "$VOUCH is missing; run make build"

request() {  # request METHOD PATH [BODY] [CONTENT-TYPE]: prints the body; fails unless 2xx
  local out=$WORK/response code
  code=$(curl -s --max-time 30 -o "$out" -w '%{http_code}' -X "$1" \
    -H "Authorization: Bearer $TOKEN" -H "Content-Type: ${4:-application/json}" \
    ${3:+--data-binary "$3"} "$URL$2") || code=000
  [[ $code == 2?? ]] || die "$1 $2 -> HTTP $code: $(head -c 300 "$out")"
  cat "$out"
}

held() {
  curl -s -H "Authorization: Bearer $TOKEN" "$URL/metrics" |
    awk '$1 == "vouch_request_waiters" { print int($2) }'
}

run_wrk() {  # run_wrk LABEL: prints its req/s; fails on any non-2xx or socket error
  local out=$WORK/wrk.$1.txt line rps non2xx errors
  BENCH_TOKEN=$TOKEN BENCH_MODEL=bench wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" \
    --latency -s bench/vouch_get_version.lua "$URL" >"$out" 2>&1 || die "wrk failed: $(cat "$out")"
  line=$(sed -n 's/^BENCH_RESULT //p' "$out")
  rps=$(tr ' ' '\n' <<<"$line" | sed -n 's/^rps=//p')
  non2xx=$(tr ' ' '\n' <<<"$line" | sed -n 's/^non2xx=//p')
  errors=$(tr ' ' '\n' <<<"$line" | sed -n 's/^socket_errors=//p')
  [ "$non2xx" = 0 ] && [ "$errors" = 0 ] || die "$1: $non2xx non-2xx, $errors socket errors"
  log "$(printf '%-22s %9.0f req/s  (%s)' "$1" "$rps" "$line")"
  echo "$rps"
}

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
VOUCH_BOOTSTRAP_TOKEN=$TOKEN "$VOUCH" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" \
  --log-level warn >"$WORK/vouch.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 60); do
  curl -sf --max-time 2 -o /dev/null "$URL/ready" && break
  kill -0 "$SERVER_PID" 2>/dev/null || die "vouch exited: $(tail -n 20 "$WORK/vouch.log")"
  sleep 0.5
done

request POST /api/v1/policies 'policies:
  - name: bench-production
    target: stage:Production
    approvals: [{from: [{role: nobody-holds-this}], count: 1}]
' application/yaml >/dev/null
request POST /api/v1/models '{"name":"bench"}' >/dev/null
request POST /api/v1/models/bench/versions '{"source":"s3://bench/v1"}' >/dev/null
RID=$(request POST /api/v1/requests '{"model":"bench","version":1,"target":"stage:Production"}' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')

log "vouch $VOUCH on SQLite; get-version with $CONNECTIONS connections for $DURATION; $WAITERS waiters"
run_wrk warmup >/dev/null
sleep "$SETTLE"
BEFORE=$(run_wrk without.before)
sleep "$SETTLE"

python3 bench/hold_waits.py "$URL" "$TOKEN" "$RID" "$WAITERS" >"$WORK/hold.txt" 2>&1 &
HOLD_PID=$!
for _ in $(seq 1 120); do
  [ "$(held)" -ge "$WAITERS" ] 2>/dev/null && break
  kill -0 "$HOLD_PID" 2>/dev/null || die "hold_waits.py exited: $(cat "$WORK/hold.txt")"
  sleep 0.5
done
HELD=$(held)
[ "$HELD" -ge "$WAITERS" ] || die "the server holds $HELD waiters, not $WAITERS"
WITH=$(run_wrk with.waiters)
HELD_AFTER=$(held)
kill -TERM "$HOLD_PID"
hold_status=0
wait "$HOLD_PID" || hold_status=$?
HOLD_PID=""
log "waiters: $(tail -n 1 "$WORK/hold.txt"); held before $HELD, after $HELD_AFTER"
[ "$hold_status" = 0 ] || die "a long poll got an answer other than 200"
sleep "$SETTLE"
AFTER=$(run_wrk without.after)

python3 - "$BEFORE" "$AFTER" "$WITH" "$WAITERS" "$HELD" <<'EOF'
import sys
before, after, with_, waiters, held = map(float, sys.argv[1:])
without = (before + after) / 2
ratio = with_ / without
print(f"get-version: {without:.0f} req/s without waiters (mean of {before:.0f} and {after:.0f}), "
      f"{with_:.0f} req/s with {held:.0f} held: {ratio:.3f} ({'met' if ratio >= 0.9 else 'MISSED'}: "
      f"target >= 0.90)", file=sys.stderr)
print(f"BENCH_RESULT without_rps={without:.1f} with_rps={with_:.1f} ratio={ratio:.4f} "
      f"waiters={waiters:.0f} held={held:.0f}")
EOF
