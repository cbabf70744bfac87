#!/usr/bin/python3
"""Prints a Markdown table of the bundled traces (tests/traces/README.md): size, samples, span, and per label the
highest per-process median rate of each counter (events/s; task-clock in ns/s), read with python3-avro alone.
Usage: summary.py [DIR]"""
import csv
import glob
import os
import statistics
import sys

import avro.datafile
import avro.io

COUNTERS = ["context-switches", "page-faults", "cpu-migrations", "task-clock"]


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    print("| trace | bytes | samples | span s | label: pids | " + " | ".join(f"{c}/s" for c in COUNTERS) + " |")
    print("|---|---|---|---|---|" + "---|" * len(COUNTERS))
    for path in sorted(glob.glob(os.path.join(folder, "*.trace"))):
        name = os.path.basename(path)[:-6]
        with open(os.path.join(folder, name + ".labels.csv")) as f:
            labels = {(r["host"], int(r["pid"])): r["label"] for r in csv.DictReader(f)}
        with avro.datafile.DataFileReader(open(path, "rb"), avro.io.DatumReader()) as r:
            samples = [x["sample"] for x in r if x["kind"] == "samples"]
        ends = [s["timestampNs"] for s in samples]
        for label in ("channel", "benign"):
            pids = sorted(p for (h, p), l in labels.items() if l == label)
            if not pids:
                continue
            rates = []
            for c in COUNTERS:
                per_pid = []
                for pid in pids:
                    vals = [s["values"][c] * 1e9 / s["intervalNs"] for s in samples
                            if s["entity"]["pid"] == pid and c in s["values"] and s["intervalNs"] > 0]
                    if vals:
                        per_pid.append(statistics.median(vals))
                rates.append(f"{max(per_pid):,.0f}" if per_pid else "—")
            print(f"| {name} | {os.path.getsize(path):,} | {len(samples)} | {(max(ends) - min(ends)) / 1e9:.0f} | "
                  f"{label}: {len(pids)} | " + " | ".join(rates) + " |")


if __name__ == "__main__":
    main()
