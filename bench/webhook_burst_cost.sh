#!/usr/bin/env bash
# What a webhook burst costs the server, per delivery, in figures a shared machine does not blur
# (issue 13's burst bar; docs/benchmarks.md, "a burst of webhook deliveries"): CPU seconds (the
# kernel's per-thread accounting: the delivery workers, which run at nice 10, and the rest, e.g.
# SQLite's committer), write transactions (the store's vouch_store_writes_total; on SQLite also its
# commits) and, with BENCH_CALLGRIND=1, instructions (valgrind's callgrind; use a small
# BENCH_EVENTS then). No request load: the burst alone.
#
#   1. a server with --webhook-workers 0, 3 subscriptions to model.updated (loopback receivers,
#      bench/webhook_sink.py), BENCH_EVENTS model.updated events committed (they wait in the
#      outbox);
#   2. the server restarted with 2 workers (under callgrind when asked), until the receivers
#      counted all 3 x BENCH_EVENTS deliveries; its /metrics and per-thread CPU are read then.
# Prints one line:
#   BENCH_RESULT store=S deliveries=N cpu_s=C workers_cpu_s=W other_cpu_s=O cpu_us_per_delivery=U
#     writes_per_delivery=X [commits_per_delivery=Y] [instructions_per_delivery=I]
#
# Environment: VOUCH_BIN (default build/release/vouch), BENCH_EVENTS (10000), BENCH_STORE (sqlite;
# postgres needs VOUCH_TEST_POSTGRES_DSN, a superuser DSN: a database is made and dropped),
# BENCH_CALLGRIND (0). Every process started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

VOUCH=${VOUCH_BIN:-build/release/vouch}
EVENTS=${BENCH_EVENTS:-10000}
STORE=${BENCH_STORE:-sqlite}
CALLGRIND=${BENCH_CALLGRIND:-0}
SUBSCRIBERS=3
TOKEN=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
WORK=$(mktemp -d -t vouch-burst-cost.XXXXXX)
SERVER_PID="" SINK_PIDS=() PG_DB="" STORE_ARGS=()

log() { printf '==> %s\n' "$*" >&2; }
die() {
  log "FAILED: $*"
  exit 1
}
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
cleanup() {
  local status=$?
  trap - EXIT
  stop_server
  for pid in "${SINK_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  if [ -n "$PG_DB" ]; then
    psql -X -q -d "$VOUCH_TEST_POSTGRES_DSN" -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" \
      >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -x "$VOUCH" ] || die "$VOUCH is missing; run make build"
case $STORE in
  sqlite) ;;
  postgres)
    [ -n "${VOUCH_TEST_POSTGRES_DSN:-}" ] || die "BENCH_STORE=postgres needs VOUCH_TEST_POSTGRES_DSN"
    PG_DB=burst_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
    psql -X -q -d "$VOUCH_TEST_POSTGRES_DSN" -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
    STORE_ARGS=(--store "${VOUCH_TEST_POSTGRES_DSN%/*}/$PG_DB")
    export VOUCH_MASTER_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
    ;;
  *) die "BENCH_STORE=$STORE: use sqlite or postgres" ;;
esac

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT

start_server() {  # start_server WORKERS [WRAPPER...]
  local workers=$1
  shift
  VOUCH_BOOTSTRAP_TOKEN=$TOKEN "$@" "$VOUCH" serve --data-dir "$WORK/data" "${STORE_ARGS[@]}" \
    --listen "127.0.0.1:$PORT" --log-level warn --webhook-allow-private \
    --webhook-workers "$workers" >>"$WORK/vouch.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    curl -sf --max-time 2 -o /dev/null "$URL/ready" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || die "vouch exited: $(tail -n 20 "$WORK/vouch.log")"
    sleep 0.5
  done
  die "vouch was not ready"
}

request() {  # request METHOD PATH [BODY]: prints the body; fails unless 2xx
  local out=$WORK/response code
  code=$(curl -s --max-time 30 -o "$out" -w '%{http_code}' -X "$1" \
    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
    ${3:+--data-binary "$3"} "$URL$2") || code=000
  [[ $code == 2?? ]] || die "$1 $2 -> HTTP $code: $(head -c 300 "$out")"
  cat "$out"
}

delivered() {  # the receivers' total count
  local total=0 port
  for port in "${SINK_PORTS[@]}"; do
    total=$((total + $(curl -s --max-time 5 "http://127.0.0.1:$port/count")))
  done
  echo "$total"
}

metric() {  # metric NAME: its value in /metrics (0 when absent)
  request GET /metrics | awk -v n="$1" '$1 == n { print $2; found = 1 } END { if (!found) print 0 }'
}

# The server process (under valgrind, the tool's process is the server itself).
server_cpu() {  # prints "workers_s other_s": CPU seconds of its nice-10 threads and of the rest
  python3 - "$SERVER_PID" <<'EOF'
import os, sys
pid, tick = sys.argv[1], os.sysconf("SC_CLK_TCK")
workers = other = 0.0
for tid in os.listdir(f"/proc/{pid}/task"):
    try:
        stat = open(f"/proc/{pid}/task/{tid}/stat").read()
    except OSError:
        continue
    fields = stat[stat.rindex(")") + 2:].split()
    cpu = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    if int(fields[16]) > 0:  # nice
        workers += cpu
    else:
        other += cpu
print(f"{workers:.2f} {other:.2f}")
EOF
}

SINK_PORTS=()
for i in $(seq 1 $SUBSCRIBERS); do
  python3 bench/webhook_sink.py "$WORK/sink$i.port" >"$WORK/sink$i.log" 2>&1 &
  SINK_PIDS+=($!)
  for _ in $(seq 1 50); do [ -s "$WORK/sink$i.port" ] && break; sleep 0.1; done
  SINK_PORTS+=("$(cat "$WORK/sink$i.port")")
done

start_server 0
request POST /api/v1/models '{"name":"burst"}' >/dev/null
for port in "${SINK_PORTS[@]}"; do
  request POST /api/v1/webhooks "{\"name\":\"sink-$port\",\"url\":\"http://127.0.0.1:$port/hook\",\"events\":[\"model.updated\"]}" >/dev/null
done
log "committing $EVENTS events on $STORE (no workers: they wait in the outbox)"
python3 - "$URL" "$TOKEN" "$EVENTS" <<'EOF'
import concurrent.futures, json, sys, urllib.request
url, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def change(i):
    req = urllib.request.Request(f"{url}/api/v1/models/burst", method="PATCH",
                                 data=json.dumps({"description": f"burst {i}"}).encode(),
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        assert r.status == 200, r.status
with concurrent.futures.ThreadPoolExecutor(16) as pool:
    list(pool.map(change, range(n)))
EOF
stop_server

expected=$((EVENTS * SUBSCRIBERS))
if [ "$CALLGRIND" = 1 ]; then
  start_server 2 valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
    --dump-instr=no --collect-atstart=yes
else
  start_server 2
fi
# Counted from the server's start (its start-up is small next to the burst).
writes0=0 commits0=0 workers0=0 other0=0
for _ in $(seq 1 14400); do
  [ "$(delivered)" -ge "$expected" ] && break
  sleep 0.25
done
got=$(delivered)
[ "$got" -ge "$expected" ] || die "only $got of $expected deliveries arrived"
read -r workers1 other1 < <(server_cpu)
writes1=$(metric vouch_store_writes_total)
commits1=$(metric vouch_store_commits_total)
stop_server

instructions=""
if [ "$CALLGRIND" = 1 ]; then
  # The whole run, start-up included (small next to a burst of a few hundred events).
  instructions=$(callgrind_annotate "$WORK/callgrind.out" 2>/dev/null |
    awk '/PROGRAM TOTALS/ && !done { gsub(",", "", $1); print $1; done = 1 }')
fi

python3 - "$STORE" "$got" "$workers0" "$other0" "$workers1" "$other1" "$writes0" "$writes1" \
  "$commits0" "$commits1" "$instructions" <<'EOF'
import sys
store, n = sys.argv[1], int(sys.argv[2])
w0, o0, w1, o1, wr0, wr1, c0, c1 = map(float, sys.argv[3:11])
instructions = sys.argv[11]
workers, other = w1 - w0, o1 - o0
line = (f"BENCH_RESULT store={store} deliveries={n} cpu_s={workers + other:.2f} "
        f"workers_cpu_s={workers:.2f} other_cpu_s={other:.2f} "
        f"cpu_us_per_delivery={(workers + other) / n * 1e6:.0f} "
        f"writes_per_delivery={(wr1 - wr0) / n:.2f}")
if store == "sqlite":
    line += f" commits_per_delivery={(c1 - c0) / n:.2f}"
if instructions:
    line += f" instructions_per_delivery={int(instructions) / n:.0f}"
print(line)
EOF
