#!/usr/bin/python3
"""Writes a large synthetic trace for throughput measurements (docs/PERFORMANCE.md, "Traces"), with python3-avro and
the contract of schemas/ alone: HOSTS hosts x PROCS processes x TICKS one-second ticks of one counter, deflate.

Usage: synthetic_trace.py OUT [HOSTS PROCS TICKS]   (default 4 500 150: 300,000 samples)
"""
import json
import os
import sys

import avro.datafile
import avro.errors
import avro.io
import avro.name
import avro.schema

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "SafeHaven.Traces.Tests"))
from read_trace import contract  # noqa: E402  (parses schemas/ in dependency order)


def main():
    out = sys.argv[1]
    hosts, procs, ticks = (int(a) for a in (sys.argv[2:5] if len(sys.argv) >= 5 else (4, 500, 150)))
    schema = contract(os.path.join(HERE, "..", "..", "schemas"))
    t0 = 1_764_800_000_000_000_000
    with avro.datafile.DataFileWriter(open(out, "wb"), avro.io.DatumWriter(), schema, codec="deflate") as w:
        seq = {h: 0 for h in range(hosts)}
        for tick in range(1, ticks + 1):
            end = t0 + tick * 1_000_000_000
            for h in range(hosts):
                host = f"synth{h}"
                for p in range(procs):
                    pid = 1000 + p
                    storm = p == 0 and tick % 40 >= 20
                    w.append({
                        "kind": "samples", "key": host, "timestampNs": end // 1_000_000 * 1_000_000,
                        "sample": {
                            "host": host,
                            "entity": {"datacenter": "synth", "host": host, "vm": None, "container": None, "pid": pid,
                                       "comm": f"p{p}", "startTime": 100 + p},
                            "values": {"context-switches": 50000 if storm else 10 + p % 7},
                            "intervalNs": 1_000_000_000, "timestampNs": end + p * 1000, "seq": seq[h], "droppedSamples": 0,
                        },
                        "inventory": None, "detection": None, "result": None,
                    })
                    seq[h] += 1
    print(f"{out}: {hosts * procs * ticks} samples, {os.path.getsize(out)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
