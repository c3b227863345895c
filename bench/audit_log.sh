#!/usr/bin/env bash
# Issue 14's audit-log benchmarks (docs/benchmarks.md "Issue 14"); not part of make test.
#   bench/audit_log.sh [EVENTS]      (default 1000000)
# Makes a log of EVENTS synthetic events with `vouch dev audit-bulk` (through the store's append
# path, so the Merkle tree is built as a server builds it), then measures:
#   - export of the whole log (`vouch audit export`), target < 5 s for 1,000,000 events;
#   - offline verification of the export: the hash pass alone (`--hash-only`: read, split, leaf
#     hash, tree), target >= 1,000,000 events/s on one core, and the full check with the
#     canonical-form check, reported separately;
# each as wall-clock and CPU (user+sys) time: on a shared machine the CPU time is the figure to
# compare with a one-core target. VOUCH_BIN overrides the binary; BENCH_DIR keeps the files.
set -euo pipefail
EVENTS="${1:-1000000}"
VOUCH="${VOUCH_BIN:-$(dirname "$0")/../build/release/vouch}"
DIR="${BENCH_DIR:-$(mktemp -d)}"
[ -n "${BENCH_DIR:-}" ] || trap 'rm -rf "$DIR"' EXIT

timed() {  # label, command...: prints wall and CPU seconds and the rate per CPU second
  local label="$1"; shift
  local times="$DIR/times"
  /usr/bin/time -o "$times" -f "%e %U %S" "$@" >/dev/null 2>&1 || true
  read -r wall user sys < <(tail -1 "$times")
  local cpu; cpu=$(echo "$user + $sys" | bc -l)
  printf '%-34s wall %6.2f s  cpu %6.2f s  %10.0f events/cpu-s\n' "$label" "$wall" "$cpu" \
    "$(echo "$EVENTS / ($cpu + 0.0001)" | bc -l)"
}

if [ ! -f "$DIR/d/vouch.db" ]; then
  echo "making $EVENTS events in $DIR/d ..."
  "$VOUCH" dev audit-bulk --data-dir "$DIR/d" --events "$EVENTS" --batch 50000 --quiet
fi
rm -rf "$DIR/x"
timed "export ($EVENTS events)" "$VOUCH" audit export --data-dir "$DIR/d" --out "$DIR/x"
timed "verify export, hash pass only" "$VOUCH" audit verify "$DIR/x" --hash-only
timed "verify export, with canonical check" "$VOUCH" audit verify "$DIR/x"
timed "verify --data-dir (engine + tree)" "$VOUCH" audit verify --data-dir "$DIR/d"
"$VOUCH" audit verify "$DIR/x" --hash-only
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
