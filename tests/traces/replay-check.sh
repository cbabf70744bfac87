#!/usr/bin/env bash
# Done-when check of issue 12 item 5 (docs/TRACES.md): a trace recorded from a live `safehaven up` run replays to the
# same detections, with the same ids, twice. Runs as root (up enrols the workloads in cpusets; --dry-run moves nothing).
# Usage: tests/traces/replay-check.sh [WORKDIR]   (SAFEHAVEN=path/to/safehaven to use a built CLI; default ./safehaven)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
sh="${SAFEHAVEN:-$root/safehaven}"
work="${1:-$(mktemp -d /tmp/safehaven-replay-check.XXXXXX)}"
mkdir -p "$work"
rules="$root/examples/rules/covert-channel.yaml"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

broker() { # starts an embedded broker (remembered for cleanup); sets $bootstrap
  local log="$work/broker-$1"
  "$sh" broker >"$log.out" 2>"$log.err" &
  pids+=($!)
  for _ in $(seq 600); do grep -q '^bootstrap: ' "$log.out" 2>/dev/null && break; sleep 0.1; done
  bootstrap="$(sed -n 's/^bootstrap: //p' "$log.out" | head -1)"
}

# 1. The live run: a benign sleeper and a context-switch storm under `up`, recorded with its detections.
broker live; b1="$bootstrap"
sleep 600 & benign=$!; pids+=($benign)
stress-ng --switch 1 --timeout 40s >/dev/null 2>&1 & storm=$!; pids+=($storm)
sleep 1
storm_pids=$(pgrep -P "$storm" | tr '\n' ' ')
"$sh" up --bootstrap "$b1" --rules "$rules" --dry-run --state-dir "$work/state" --cgroup safehaven-replay-check \
  --pid "$benign" $(for p in $storm $storm_pids; do echo --pid "$p"; done) --duration 35s >"$work/up.out" 2>"$work/up.err" &
up=$!
# The recorder checks seals with the keys up keeps in its state directory: start it once they exist (it reads from the
# earliest offset, so nothing is missed).
for _ in $(seq 1200); do compgen -G "$work/state/record-keys/*.mac" >/dev/null && break; sleep 0.1; done
"$sh" record --bootstrap "$b1" --out "$work/live.trace" --force --include detections,results --trusted-keys "$work/state/record-keys" --duration 45s 2>"$work/record-live.err" &
rec=$!
wait "$up" || true
wait "$rec"

# 2. Two replays, each into a fresh broker with its own detector; their detections recorded too.
for run in 1 2; do
  broker "replay$run"; b="$bootstrap"
  "$sh" detect --bootstrap "$b" --rules "$rules" --signing-key "$work/state/record-keys" --dry-run --duration 60s >"$work/detect$run.out" 2>"$work/detect$run.err" &
  det=$!
  "$sh" record --bootstrap "$b" --out "$work/replay$run.trace" --force --include detections --duration 50s 2>"$work/record-replay$run.err" &
  rec=$!
  sleep 8
  "$sh" replay "$work/live.trace" --bootstrap "$b" --signing-key "$work/state/record-keys" --speed max --json >"$work/replay$run.json" 2>"$work/replay$run.err"
  wait "$rec"; kill "$det" 2>/dev/null || true
done

/usr/bin/python3 - "$work" <<'PY'
import sys, avro.datafile, avro.io
work = sys.argv[1]
def ids(name):
    with avro.datafile.DataFileReader(open(f"{work}/{name}.trace", "rb"), avro.io.DatumReader()) as r:
        return sorted(x["detection"]["detectionId"] for x in r if x["kind"] == "detections")
live, r1, r2 = ids("live"), ids("replay1"), ids("replay2")
print(f"live {len(live)} detections, replay 1: {len(r1)}, replay 2: {len(r2)}")
for i in live: print("  ", i)
ok = live and live == r1 == r2
print("SAME IDS" if ok else "DIFFERENT")
sys.exit(0 if ok else 1)
PY
