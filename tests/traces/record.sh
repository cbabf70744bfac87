#!/usr/bin/env bash
# Re-records the bundled traces of tests/traces (docs/TRACES.md, "Bundled traces") from real workloads through the real
# probe on this machine: per scenario a fresh embedded broker, the workloads, `safehaven probe --pid …` publishing for
# DURATION, and `safehaven record` writing SCENARIO.trace, plus SCENARIO.labels.csv (host,pid,label,onsetNs).
# Usage: tests/traces/record.sh [SCENARIO…]   (default: all; SAFEHAVEN=path/to/safehaven to use a built CLI)
# Environment: DURATION (default 30s), PERIOD (default 1s), COUNTERS, HOST_ID (default lab1), OUT (default tests/traces).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
sh="${SAFEHAVEN:-$root/safehaven}"
out="${OUT:-$root/tests/traces}"
duration="${DURATION:-30s}"
period="${PERIOD:-1s}"
host="${HOST_ID:-lab1}"
# No CPU PMU in this VM (MACHINE.md): software counters only.
counters="${COUNTERS:-context-switches,page-faults,cpu-migrations,task-clock}"
scenarios=("$@")
[[ ${#scenarios[@]} -gt 0 ]] || scenarios=(benign-idle benign-compile benign-busy channel-switch channel-lockbus channel-cache channel-noisy)
work="$(mktemp -d /tmp/safehaven-traces.XXXXXX)"
src="$work/unit.c"
printf 'int f(int x){int s=0;for(int i=0;i<x;i++)s+=i*i%%7;return s;}\nint main(void){return f(1000)&1;}\n' >"$src"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; pids=(); wait 2>/dev/null || true; }
trap 'cleanup; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

now() { date +%s%N; }
tree() { # a pid and all its descendants
  echo "$1"
  for c in $(pgrep -P "$1" || true); do tree "$c"; done
}
label() { # label PID channel|benign ONSET
  for p in $1; do echo "$host,$p,$2,$3" >>"$labels"; done
}
start() { # start CMD…: runs it in the background, remembered for cleanup; sets $last
  "$@" >/dev/null 2>&1 &
  last=$!
  pids+=("$last")
}
sleeper() { start sleep 3600; label "$last" benign "$(now)"; }

for scenario in "${scenarios[@]}"; do
  trace="$out/$scenario.trace"
  labels="$out/$scenario.labels.csv"
  echo "host,pid,label,onsetNs" >"$labels"
  "$sh" broker >"$work/broker.out" 2>"$work/broker.err" &
  pids+=($!)
  for _ in $(seq 600); do grep -q '^bootstrap: ' "$work/broker.out" 2>/dev/null && break; sleep 0.1; done
  bootstrap="$(sed -n 's/^bootstrap: //p' "$work/broker.out" | head -1)"
  sleeper
  sleeper
  case "$scenario" in
    benign-idle)
      start /usr/bin/python3 -c 'import time
while True: time.sleep(0.25)'
      label "$last" benign "$(now)" ;;
    benign-compile)
      start bash -c "while :; do gcc -O2 -c '$src' -o '$work/unit.o'; done"
      label "$last" benign "$(now)"
      start /usr/bin/python3 -c 'import hashlib, json
d = {}
while True:
    for i in range(20000): d[str(i)] = hashlib.sha256(str(i).encode()).hexdigest()
    json.loads(json.dumps(d)); d.clear()'
      label "$last" benign "$(now)" ;;
    benign-busy)
      start stress-ng --cpu 1 --timeout 3600s
      sleep 1; label "$(tree "$last")" benign "$(now)" ;;
    channel-switch|channel-lockbus|channel-cache)
      onset="$(now)"
      start stress-ng "--${scenario#channel-}" 1 --timeout 3600s
      top=$last
      sleep 1
      # The stress-ng parent only waits; its workers (for --switch a parent/child pair) carry the channel.
      label "$top" benign "$onset"
      label "$(tree "$top" | tail -n +2)" channel "$onset" ;;
    channel-noisy)
      # SafeHaven's own covert-channel sender: its storm starts when it reads a line, 5 s into the trace.
      coproc NOISY { exec "$sh" workload noisy; }
      pids+=("$NOISY_PID")
      read -r _ <&"${NOISY[0]}"
      noisy=$NOISY_PID
      ;;
    *) echo "unknown scenario $scenario" >&2; exit 2 ;;
  esac
  watch=()
  while IFS=, read -r _ p _ _; do [[ "$p" == pid ]] || watch+=(--pid "$p"); done <"$labels"
  [[ "$scenario" != channel-noisy ]] || watch+=(--pid "$noisy")
  "$sh" record --bootstrap "$bootstrap" --out "$trace" --force --duration "$(( ${duration%s} + 15 ))s" 2>"$work/record.err" &
  rec=$!
  "$sh" probe --bootstrap "$bootstrap" --host "$host" --datacenter lab --counters "$counters" --period "$period" \
    "${watch[@]}" --duration "$duration" >"$work/probe.out" 2>"$work/probe.err" &
  probe=$!
  if [[ "$scenario" == channel-noisy ]]; then
    sleep 5
    label "$noisy" channel "$(now)"
    echo go >&"${NOISY[1]}"
  fi
  wait "$probe" || { echo "$scenario: probe failed:" >&2; tail -5 "$work/probe.err" >&2; }
  wait "$rec" || { echo "$scenario: record failed:" >&2; tail -5 "$work/record.err" >&2; }
  tail -1 "$work/record.err"
  cleanup
  echo "$scenario: $(stat -c %s "$trace") bytes, $(($(wc -l <"$labels") - 1)) labelled pids"
done
