#!/usr/bin/env bash
# Issue 14: "an inclusion proof at 10,000,000 events < 1 ms on the server". Not part of make test.
#   bench/audit_proof.sh [EVENTS]      (default 10000000; BENCH_DIR keeps the log for reruns)
# Makes a log of EVENTS synthetic events with `vouch dev audit-bulk` (the store's own append, so
# the tree is the one a server builds; about 8 minutes and 5 GB for 10,000,000 here), serves it,
# signs a checkpoint of the whole log, then asks for inclusion proofs of random events in it with
# wrk: one connection (one proof at a time) and then 8. The figure is the server's own time per
# request, from its access log (the duration each request line carries: routing, authentication,
# the O(log n) reads of stored tile hashes, the checkpoint, the event, the JSON answer), median and
# 99th percentile, besides wrk's round trip. VOUCH_BIN overrides the binary.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VOUCH_BIN:-$REPO/build/release/vouch}
EVENTS=${1:-10000000}
DURATION=${DURATION:-10s}
DIR=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/var/tmp}/vouch-proof.XXXXXX")}
[ -n "${BENCH_DIR:-}" ] || trap 'rm -rf "$DIR"' EXIT
mkdir -p "$DIR"
if [ ! -f "$DIR/d/vouch.db" ]; then
  echo "making $EVENTS events in $DIR/d ..."
  start=$(date +%s)
  "$BIN" dev audit-bulk --data-dir "$DIR/d" --events "$EVENTS" --batch 50000 --quiet
  echo "made in $(( $(date +%s) - start )) s ($(du -sh "$DIR/d" | cut -f1))"
fi
# The first start of a data directory makes its admin from VOUCH_BOOTSTRAP_TOKEN; kept for reruns.
[ -f "$DIR/token" ] || echo "bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$DIR/token"
TOKEN=$(cat "$DIR/token")
VOUCH_BOOTSTRAP_TOKEN=$TOKEN "$BIN" serve --data-dir "$DIR/d" --listen 127.0.0.1:0 \
  --log-level info >"$DIR/out" 2>"$DIR/err" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; [ -n "${BENCH_DIR:-}" ] || rm -rf "$DIR"' EXIT
url=""
for _ in $(seq 6000); do  # the first start over an old log builds its tree first
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$DIR/out" 2>/dev/null | head -1 || true)
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$DIR/err" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "the server did not start" >&2; exit 1; }
auth=(-H "Authorization: Bearer $TOKEN")
curl -sf -X POST "${auth[@]}" -H 'Content-Type: application/json' -d '{}' \
  "$url/api/v1/audit/checkpoints" >/dev/null || true  # 409 when the latest already covers it all
size=$(curl -sf "$url/api/v1/audit/log/checkpoint" | sed -n 2p)
echo "serving $url; latest checkpoint: $size events"
# The proof checked once with the CLI's offline verifier, so that what is timed is a real proof.
VOUCH_SERVER=$url VOUCH_TOKEN=$TOKEN "$BIN" audit prove "$((size / 2 + 1))" --out "$DIR/proof" \
  >/dev/null
"$BIN" audit verify "$DIR/proof" --key "$(curl -sf "$url/api/v1/audit/keys?format=text" | head -1)"

server_times() {  # the proof lines' durations (ms) logged since line $1 of the log: median, p99
  tail -n +"$1" "$DIR/err" | grep 'proof/inclusion' | grep -o ' 200 [0-9.]*ms' |
    awk '{sub("ms","",$2); print $2}' | sort -n |
    awk '{a[NR]=$1} END {if (NR == 0) {print "no requests"; exit}
      printf "%d requests, server time median %.3f ms, p99 %.3f ms\n", NR, a[int(NR*0.5)+1],
        a[int(NR*0.99)+1]}'
}
for c in 1 8; do
  from=$(($(wc -l <"$DIR/err") + 1))
  out=$(PROOF_SIZE=$size wrk -t1 -c"$c" -d"$DURATION" --latency "${auth[@]}" \
    -s "$REPO/bench/audit_proof.lua" "$url" 2>&1)
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  echo "inclusion proofs at $size events, $c connection(s): $rps req/s, round trip p50 $p50;" \
    "$(server_times "$from")"
done
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
