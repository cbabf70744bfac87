#!/usr/bin/python3
"""Decode SafeHaven Kafka values with the public .avsc contracts alone (DESIGN §4).

Usage: decode_with_avsc.py SCHEMA_DIR VALUE_FILE...

Each VALUE_FILE holds one Avro single-object encoded value: C3 01, the 8-byte little-endian
CRC-64-AVRO fingerprint of the writer schema's Parsing Canonical Form, then the Avro binary body.
The script parses every SCHEMA_DIR/*.avsc together (they refer to each other by name), computes
each schema's fingerprint itself, matches every value to a schema by fingerprint, decodes the
body with avro.io.DatumReader and prints one JSON line per value:
  {"file": ..., "schema": "safehaven.v1.X", "fingerprint": "hex", "record": {...}}
Bytes fields are printed as lowercase hex. Any problem: message on stderr, exit status 1.

Needs only Debian's python3-avro (1.11.x); run it with /usr/bin/python3.
"""

import glob
import io
import json
import os
import struct
import sys

import avro.errors
import avro.io
import avro.name
import avro.schema

# CRC-64-AVRO (Avro specification, "Schema Fingerprints").
EMPTY = 0xC15D213AA4D7A795
FP_TABLE = []
for _i in range(256):
    _fp = _i
    for _ in range(8):
        _fp = (_fp >> 1) ^ (EMPTY & -(_fp & 1))
    FP_TABLE.append(_fp)


def crc64_avro(data: bytes) -> int:
    fp = EMPTY
    for b in data:
        fp = (fp >> 8) ^ FP_TABLE[(fp ^ b) & 0xFF]
    return fp


# Known answers from other Avro implementations: "int" and "string".
assert crc64_avro(b'"int"') == 0x7275D51A3F395C8F
assert crc64_avro(b'"string"') == 0x8F014872634503C7

PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
PCF_ORDER = ("name", "type", "fields", "symbols", "items", "values", "size")


def own_canonical_form(json_schema, known, namespace=None):
    """Parsing Canonical Form from the spec, over the raw JSON of one .avsc.

    known: full name -> raw JSON of the other contracts, for references by name.
    Returns the PCF text; a named type is written out in full at its first occurrence only.
    """
    seen = set()

    def full_name(name, ns):
        return name if "." in name or not ns else ns + "." + name

    def walk(s, ns):
        if isinstance(s, str):
            if s in PRIMITIVES:
                return json.dumps(s)
            name = full_name(s, ns)
            if name in seen:
                return json.dumps(name)
            if name not in known:
                raise ValueError("unknown type " + name)
            return walk(known[name], name.rpartition(".")[0] or None)
        if isinstance(s, list):
            return "[" + ",".join(walk(b, ns) for b in s) + "]"
        t = s["type"]
        if t in PRIMITIVES:
            return json.dumps(t)
        if t in ("record", "error", "enum", "fixed"):
            name = full_name(s["name"], s.get("namespace", ns))
            if name in seen:
                return json.dumps(name)
            seen.add(name)
            inner_ns = name.rpartition(".")[0] or None
            parts = ['"name":' + json.dumps(name), '"type":' + json.dumps("record" if t == "error" else t)]
            if t in ("record", "error"):
                fields = ",".join(
                    '{"name":' + json.dumps(f["name"]) + ',"type":' + walk(f["type"], inner_ns) + "}" for f in s["fields"])
                parts.append('"fields":[' + fields + "]")
            if t == "enum":
                parts.append('"symbols":' + json.dumps(s["symbols"], separators=(",", ":")))
            if t == "fixed":
                parts.append('"size":' + str(int(s["size"])))
            return "{" + ",".join(parts) + "}"
        if t == "array":
            return '{"type":"array","items":' + walk(s["items"], ns) + "}"
        if t == "map":
            return '{"type":"map","values":' + walk(s["values"], ns) + "}"
        return walk(t, ns)  # {"type": "SomeName"} or a nested type object

    return walk(json_schema, namespace)


def load_schemas(schema_dir):
    """Parses every .avsc of schema_dir together; returns [(file, schema, raw json)] in dependency order."""
    pending = []
    for path in sorted(glob.glob(os.path.join(schema_dir, "*.avsc"))):
        with open(path, encoding="utf-8") as f:
            pending.append((os.path.basename(path), json.load(f)))
    if not pending:
        raise ValueError("no .avsc files in " + schema_dir)
    accepted = []
    while pending:
        last_error = None
        for i, (name, raw) in enumerate(pending):
            # A failed parse may leave its name registered: start from fresh names every attempt.
            names = avro.name.Names()
            try:
                for _, _, done in accepted:
                    avro.schema.make_avsc_object(done, names)
                schema = avro.schema.make_avsc_object(raw, names)
            except avro.errors.SchemaParseException as e:
                last_error = "%s: %s" % (name, e)
                continue
            accepted.append((name, schema, raw))
            del pending[i]
            break
        else:
            raise ValueError("schemas do not parse: %s" % last_error)
    return accepted


def fingerprints(schemas):
    raw_by_name = {s.fullname: raw for _, s, raw in schemas}
    result = {}
    for file, schema, raw in schemas:
        ours = own_canonical_form(raw, raw_by_name)
        library = getattr(schema, "canonical_form", None)
        if library is not None and library != ours:
            raise ValueError("%s: canonical forms differ\n library: %s\n ours:    %s" % (file, library, ours))
        fp = crc64_avro(ours.encode("utf-8"))
        if fp in result:
            raise ValueError("%s: fingerprint collides with %s" % (file, result[fp][0].fullname))
        result[fp] = (schema, ours)
    return result


def jsonable(value):
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def decode(path, by_fp):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 10:
        raise ValueError("%s: %d bytes, shorter than the single-object header" % (path, len(data)))
    if data[0:2] != b"\xc3\x01":
        raise ValueError("%s: no single-object marker C3 01 (got %s)" % (path, data[0:2].hex()))
    (fp,) = struct.unpack("<Q", data[2:10])
    if fp not in by_fp:
        raise ValueError("%s: fingerprint %016x matches no schema" % (path, fp))
    schema, _ = by_fp[fp]
    body = io.BytesIO(data[10:])
    record = avro.io.DatumReader(schema, schema).read(avro.io.BinaryDecoder(body))
    left = len(data) - 10 - body.tell()
    if left != 0:
        raise ValueError("%s: %d bytes left after the record" % (path, left))
    return {"file": os.path.basename(path), "schema": schema.fullname, "fingerprint": "%016x" % fp,
            "record": jsonable(record)}


def main(argv):
    if len(argv) < 2:
        print("usage: decode_with_avsc.py SCHEMA_DIR VALUE_FILE...", file=sys.stderr)
        return 2
    try:
        by_fp = fingerprints(load_schemas(argv[0]))
        for path in argv[1:]:
            print(json.dumps(decode(path, by_fp), sort_keys=True))
    except (ValueError, OSError, avro.errors.AvroException) as e:
        print("decode_with_avsc: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
