#!/usr/bin/python3
"""Reads a SafeHaven trace with Debian's python3-avro and the .avsc files of schemas/ alone (docs/TRACES.md).

Usage: read_trace.py TRACE SCHEMAS_DIR
Prints one JSON object: the codec, the number of records per kind, and the samples' hosts, seqs and counters,
so the caller can compare them with what it wrote. Exit 2 when the file does not read.
"""
import json
import os
import sys

import avro.datafile
import avro.errors
import avro.io
import avro.name
import avro.schema


def contract(schemas_dir):
    """safehaven.v1.TraceRecord parsed from schemas/, dependencies first (the files refer to each other by name)."""
    pending = {}
    for f in sorted(os.listdir(schemas_dir)):
        if f.endswith(".avsc"):
            with open(os.path.join(schemas_dir, f), encoding="utf-8") as h:
                pending[f] = json.load(h)
    done, parsed = [], {}
    while pending:
        for f, raw in sorted(pending.items()):
            # A failed parse can leave its name registered: every attempt starts from fresh names.
            names = avro.name.Names()
            try:
                for earlier in done:
                    avro.schema.make_avsc_object(earlier, names)
                parsed[f] = avro.schema.make_avsc_object(raw, names)
            except avro.errors.SchemaParseException:
                continue
            done.append(raw)
            del pending[f]
            break
        else:
            raise SystemExit(f"schemas do not parse: {sorted(pending)}")
    return parsed["TraceRecord.avsc"]


def main():
    trace, schemas_dir = sys.argv[1], sys.argv[2]
    reader_schema = contract(schemas_dir)
    kinds, samples = {}, []
    try:
        with avro.datafile.DataFileReader(open(trace, "rb"), avro.io.DatumReader(readers_schema=reader_schema)) as r:
            codec = r.get_meta("avro.codec").decode()
            for record in r:
                kinds[record["kind"]] = kinds.get(record["kind"], 0) + 1
                if record["sample"] is not None:
                    s = record["sample"]
                    samples.append([s["host"], s["seq"], s["entity"]["pid"], s["timestampNs"], s["values"]])
    except Exception as e:  # any failure to read is the answer
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"codec": codec, "kinds": kinds, "samples": samples}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
