#!/usr/bin/env bash
# What the Merkle tree costs the audit log (issue 14: "audit adds < 10% to durable create-version
# throughput, against the same build with tree updates off, same run"). One binary, run alternately
# with the tree on and with `vouch serve --bench-audit-tree-off` (hidden; benchmarks only: appends
# write no tree and the store is marked so that no later start accepts it), ROUNDS times each, on
# fresh data directories, loaded like `make bench`'s native create-version row (wrk -t2 -c32,
# bench/vouch_create_version.lua, 2 s warm-up, then DURATION measured). Prints each run, the
# medians and their ratio (tree on / tree off). With STORE=postgres it runs on a throwaway
# PostgreSQL cluster (scripts/pg-test-cluster, fsync on), a fresh database per run.
#   ROUNDS=3 DURATION=10s bench/audit_tree.sh
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VOUCH_BIN:-$REPO/build/release/vouch}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
STORE=${STORE:-sqlite}
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/vouch-tree.XXXXXX")
PG_DIR=""
cleanup() {
  [ -n "$PG_DIR" ] && "$REPO/scripts/pg-test-cluster" stop "$PG_DIR" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
TOKEN=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
if [ "$STORE" = postgres ]; then
  pg_out=$("$REPO/scripts/pg-test-cluster" start)
  PG_DSN=$(sed -n 1p <<<"$pg_out")
  PG_DIR=$(sed -n 2p <<<"$pg_out")
  PG_BASE=${PG_DSN%/*}
  export VOUCH_MASTER_KEY
  VOUCH_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
fi

run() {
  local label=$1 dir pid url="" rps n=$2 store_args=()
  shift 2
  dir=$(mktemp -d "$WORK/$label.XXXX")
  if [ "$STORE" = postgres ]; then
    local db="tree_${label//-/_}_$n"
    psql "$PG_DSN" -qc "CREATE DATABASE $db" >/dev/null
    store_args=(--store "$PG_BASE/$db")
  fi
  VOUCH_BOOTSTRAP_TOKEN=$TOKEN "$BIN" serve --data-dir "$dir/data" --listen 127.0.0.1:0 \
    --log-level warn "${store_args[@]}" "$@" >"$dir/out" 2>"$dir/err" &
  pid=$!
  for _ in $(seq 600); do
    url=$(grep -o 'http://127.0.0.1:[0-9]*' "$dir/out" 2>/dev/null | head -1 || true)
    [ -n "$url" ] && break
    sleep 0.05
  done
  [ -n "$url" ] || { echo "$label: the server did not start" >&2; cat "$dir/err" >&2; exit 1; }
  # A data directory written with the tree off is not a valid registry: marked as such.
  [ $# -gt 0 ] && touch "$dir/data/DAMAGED"
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

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

on=()
off=()
for i in $(seq "$ROUNDS"); do
  line=$(run tree-on "$i"); echo "$line"; on+=("${line#* }")
  line=$(run tree-off "$i" --bench-audit-tree-off); echo "$line"; off+=("${line#* }")
done
m_on=$(printf '%s\n' "${on[@]}" | median)
m_off=$(printf '%s\n' "${off[@]}" | median)
awk -v on="$m_on" -v off="$m_off" -v store="$STORE" 'BEGIN {
  printf "%s: tree on %.0f req/s, tree off %.0f req/s (medians); on/off = %.3f, the tree costs %.1f%%\n",
    store, on, off, on / off, 100 * (1 - on / off) }'
