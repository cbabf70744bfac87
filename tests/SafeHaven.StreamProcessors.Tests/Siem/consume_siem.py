#!/usr/bin/env python3
"""Consumes safehaven.siem with python3-confluent-kafka and validates every event (docs/SIEM.md recipe).

  consume_siem.py BOOTSTRAP TOPIC ocsf|ecs COUNT [TIMEOUT_S]
Reads from the beginning until COUNT events arrived or TIMEOUT_S passed; prints one JSON summary:
{"events": [...], "errors": [...]}. Exit 0 when COUNT events arrived and all validate.
"""
import json, sys, time, uuid
from confluent_kafka import Consumer

from validate_siem import validate

bootstrap, topic, fmt, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 60
consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": "siem-check-" + uuid.uuid4().hex,
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
})
consumer.subscribe([topic])
events, errors = [], []
deadline = time.monotonic() + timeout
try:
    while len(events) < count and time.monotonic() < deadline:
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            errors.append(f"kafka: {msg.error()}")
            continue
        event = json.loads(msg.value())
        events.append({"key": msg.key().decode() if msg.key() else None, "event": event})
        errors += [f"{msg.key()!r}@{msg.offset()}: {p}" for p in validate(fmt, event)]
finally:
    consumer.close()
print(json.dumps({"events": events, "errors": errors}))
sys.exit(0 if len(events) >= count and not errors else 1)
