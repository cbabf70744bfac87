#!/usr/bin/env bash
# End-to-end figures of the demo: runs `./safehaven demo --json` N times (default 20) and prints
# median and p99 of detection time (storm start → detection seen by a SIEM-like consumer),
# sample→result latency (end of the window that fired → move verified) and core move time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-20}"
out="$(mktemp -d)"
for i in $(seq 1 "$runs"); do
  ./safehaven demo --json "${@:2}" > "$out/run-$i.json" 2>"$out/run-$i.err" || { echo "run $i failed:"; tail -5 "$out/run-$i.err"; exit 1; }
done
python3 - "$out" <<'PY'
import glob, json, statistics, sys
rows = [json.load(open(f)) for f in sorted(glob.glob(sys.argv[1] + "/run-*.json"))]
def pct(xs, p):
    xs = sorted(xs); k = (len(xs) - 1) * p / 100; f = int(k); c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)
for key in ("detectionMs", "sampleToResultMs", "moveMs"):
    xs = [r["summary"][key] for r in rows]
    print(f"{key:18} n={len(xs):3}  min {min(xs):9.3f}  p50 {pct(xs,50):9.3f}  mean {statistics.mean(xs):9.3f}  p99 {pct(xs,99):9.3f}  max {max(xs):9.3f}")
# Where sample->result goes: ms after the end of the window that fired, hop by hop.
for hop in ("sampleSeen", "detectionSeen", "commandIssued", "actuatorStarted", "resultFinished"):
    xs = [r["summary"]["hopsMs"][hop] for r in rows if r["summary"].get("hopsMs", {}).get(hop) is not None]
    if xs:
        print(f"  {hop:16} p50 {pct(xs,50):8.3f}  p99 {pct(xs,99):8.3f}")
PY
