#!/usr/bin/env bash
# Replay and record throughput (docs/PERFORMANCE.md, "Traces"): RUNS times, each into a fresh embedded broker,
# `replay TRACE --speed max`, then `record --from earliest` of what it published. Prints one line per run.
# Usage: tests/traces/throughput.sh TRACE [RUNS]   (SAFEHAVEN=path/to/safehaven to use a built CLI)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
sh="${SAFEHAVEN:-$root/safehaven}"
trace="$1"
runs="${2:-3}"
work="$(mktemp -d /tmp/safehaven-throughput.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; pids=(); wait 2>/dev/null || true; }
trap 'cleanup; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
for run in $(seq "$runs"); do
  "$sh" broker >"$work/broker.out" 2>"$work/broker.err" &
  pids+=($!)
  for _ in $(seq 600); do grep -q '^bootstrap: ' "$work/broker.out" 2>/dev/null && break; sleep 0.1; done
  b="$(sed -n 's/^bootstrap: //p' "$work/broker.out" | head -1)"
  start=$(date +%s%N)
  "$sh" replay "$trace" --bootstrap "$b" --speed max --json >"$work/replay.json" 2>"$work/replay.err"
  end=$(date +%s%N)
  "$sh" record --bootstrap "$b" --out "$work/rec.trace" --force --duration 25s --json >"$work/record.json" 2>"$work/record.err"
  echo "run $run: load $(cut -d' ' -f1-3 /proc/loadavg); replay $(cat "$work/replay.json"); replay command wall $(( (end - start) / 1000000 )) ms"
  # Progress lines every 2 s: the first that shows every record, and the one before it, bracket the drain.
  grep '^record: [0-9]' "$work/record.err" | sed 's/^/    /'
  cleanup
done
