#!/usr/bin/env bash
# Instructions (Ir) per request of the two filtered MLflow searches that `make bench` measures,
# counted by callgrind on the whole server (HTTP parsing, authentication, the store, the JSON):
#
#   bench/search_callgrind.sh [VOUCH_BIN] [REQUESTS]
#
# Seeds a fresh SQLite registry with bench/mlflow_seed.py (as scripts/bench does), restarts the
# server under callgrind, sends each workload's request (bench/mlflow_search_versions.lua,
# bench/mlflow_search_models.lua) REQUESTS times over one keep-alive connection after a warm-up,
# and prints the instructions per request of each. Callgrind counts instructions, not time, so the
# figure repeats on a loaded machine. Keeps the callgrind files in $KEEP (default: removed).
#
# LARGE=1 measures make bench's large registry instead (`vouch dev seed`: 20,000 models, `big`
# with 100,000 versions, every 100th of run r7) and its filtered version search
# (name='big' AND run_id='r7', 100 a page).
#
# The warm-up sends each request 2 × REQUESTS times first: the server opens read connections as
# the load needs them, and a connection's first statements are prepared (parsing the schema,
# some 150,000 instructions a request over 20) in whichever requests first use it.
set -euo pipefail
cd "$(dirname "$0")/.."
VOUCH=${1:-build/release/vouch}
N=${2:-20}
WORK=$(mktemp -d -t vouch-callgrind.XXXXXX)
TOKEN=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
PID=""
cleanup() {
  if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  if [ -n "${KEEP:-}" ]; then cp "$WORK"/callgrind.* "$KEEP"/ 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

up() {
  for _ in $(seq 1 240); do
    curl -sf --max-time 2 -o /dev/null "$URL/ready" && return 0
    kill -0 "$PID" 2>/dev/null || { cat "$WORK/vouch.log" >&2; exit 1; }
    sleep 0.5
  done
  echo "vouch was not ready" >&2
  exit 1
}

MODEL=bench
RUN=r1
if [ "${LARGE:-0}" = 1 ]; then
  "$VOUCH" dev seed --data-dir "$WORK/data" --quiet --models 20000 --model-prefix bench- \
    --versions 100000 --big-model big --run-id-every 100 --run-id r7 >/dev/null 2>&1
  MODEL=big
  RUN=r7
fi
VOUCH_BOOTSTRAP_TOKEN=$TOKEN "$VOUCH" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" \
  --log-level warn >"$WORK/vouch.log" 2>&1 &
PID=$!
up
if [ "$MODEL" = bench ]; then
  python3 bench/mlflow_seed.py "$URL" "$TOKEN" >/dev/null 2>&1
fi
# The seed's events go through webhook fan-out once (a mark per outbox row, some seconds for the
# large registry's 120,000): wait for it here rather than count it under callgrind.
python3 - "$WORK/data/vouch.db" <<'PY'
import sqlite3, sys, time
for _ in range(600):
    db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
    left = db.execute("SELECT COUNT(*) FROM outbox WHERE delivered_ms IS NULL").fetchone()[0]
    db.close()
    if left == 0:
        break
    time.sleep(0.2)
PY
kill -TERM "$PID"
wait "$PID" || true

VOUCH_BOOTSTRAP_TOKEN=$TOKEN valgrind --tool=callgrind \
  --callgrind-out-file="$WORK/callgrind.%p" "$VOUCH" serve --data-dir "$WORK/data" \
  --listen "127.0.0.1:$PORT" --log-level warn >"$WORK/vouch.log" 2>&1 &
PID=$!
up

declare -A PATHS=(
  [search_versions]="/api/2.0/mlflow/model-versions/search?filter=name%3D%27$MODEL%27%20AND%20run_id%3D%27$RUN%27&max_results=100"
  [search_models]="/api/2.0/mlflow/registered-models/search?filter=name%20LIKE%20%27bench%25%27&max_results=50"
)
for op in search_versions search_models; do
  urls=()
  for _ in $(seq 1 "$N"); do urls+=("$URL${PATHS[$op]}"); done
  curl -sf -H "Authorization: Bearer $TOKEN" "${urls[@]}" "${urls[@]}" >/dev/null  # warm-up
  callgrind_control --zero "$PID" >/dev/null 2>&1
  curl -sf -H "Authorization: Bearer $TOKEN" "${urls[@]}" >/dev/null
  callgrind_control --dump="$op" "$PID" >/dev/null 2>&1
  file=$(ls -t "$WORK"/callgrind.* | head -1)
  ir=$(sed -n 's/^\(summary\|totals\): //p' "$file" | awk '{print $1}' | head -1)
  printf '%s: %d Ir per request (%s requests, %s Ir in all; %s)\n' "$op" $((ir / N)) "$N" "$ir" \
    "$(basename "$file")"
done
