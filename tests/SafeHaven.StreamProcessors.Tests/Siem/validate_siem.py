#!/usr/bin/env python3
"""Validates SafeHaven SIEM events against the checked-in OCSF/ECS subset (siem-schema-subset.json).

  validate_siem.py ocsf|ecs < events.jsonl      one JSON object per line; prints {"valid": N, "errors": [...]}
Exit 0 when every event validates, 1 otherwise. Also imported by consume_siem.py.
"""
import datetime, json, os, sys

SUBSET = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "siem-schema-subset.json")))


def _keys_within(errors, where, obj, allowed):
    for k in obj:
        if k not in allowed:
            errors.append(f"{where}.{k} is not an attribute of {where}")


def _object(errors, name, obj, where=None):
    where = where or name
    spec = SUBSET["ocsf"]["objects"][name]
    if not isinstance(obj, dict):
        errors.append(f"{where} is not an object")
        return
    _keys_within(errors, where, obj, spec["attributes"])
    for r in spec["required"]:
        if r not in obj:
            errors.append(f"{where}.{r} is required")
    if spec["at_least_one"] and not any(k in obj for k in spec["at_least_one"]):
        errors.append(f"{where} needs at least one of {spec['at_least_one']}")


def validate_ocsf(e):
    errors = []
    ocsf = SUBSET["ocsf"]
    cls = ocsf["classes"].get(str(e.get("class_uid")))
    if cls is None:
        return [f"class_uid {e.get('class_uid')} is not one of {sorted(ocsf['classes'])}"]
    for r in cls["required"]:
        if r not in e:
            errors.append(f"{r} is required by {cls['caption']}")
    _keys_within(errors, cls["name"], e, cls["attributes"])
    if e.get("category_uid") != cls["category_uid"]:
        errors.append(f"category_uid {e.get('category_uid')} != {cls['category_uid']}")
    if str(e.get("activity_id")) not in cls["activity_id"]:
        errors.append(f"activity_id {e.get('activity_id')} not in {cls['activity_id']}")
    elif e.get("activity_name") not in (None, cls["activity_id"][str(e["activity_id"])]):
        errors.append(f"activity_name {e.get('activity_name')} does not match activity_id {e['activity_id']}")
    if e.get("type_uid") != e.get("class_uid", 0) * 100 + e.get("activity_id", 0):
        errors.append(f"type_uid {e.get('type_uid')} != class_uid*100+activity_id")
    if str(e.get("severity_id")) not in ocsf["severity_id"]:
        errors.append(f"severity_id {e.get('severity_id')} not in {ocsf['severity_id']}")
    if "status_id" in e and str(e["status_id"]) not in cls["status_id"]:
        errors.append(f"status_id {e['status_id']} not in {cls['status_id']}")
    for t in ("time", "start_time", "end_time"):
        if t in e and not (isinstance(e[t], int) and e[t] > 1_500_000_000_000):
            errors.append(f"{t} {e[t]!r} is not a timestamp_t (epoch ms)")
    if "metadata" in e:
        _object(errors, "metadata", e["metadata"])
        if e["metadata"].get("version") != ocsf["version"]:
            errors.append(f"metadata.version {e['metadata'].get('version')} != {ocsf['version']}")
        _object(errors, "product", e["metadata"].get("product", {}), "metadata.product")
    if "finding_info" in e:
        _object(errors, "finding_info", e["finding_info"])
        if "analytic" in e["finding_info"]:
            _object(errors, "analytic", e["finding_info"]["analytic"], "finding_info.analytic")
    if "device" in e:
        _object(errors, "device", e["device"])
        if str(e["device"].get("type_id")) not in ocsf["objects"]["device"]["type_id"]:
            errors.append(f"device.type_id {e['device'].get('type_id')} is not a device type")
    for name in ("process", "container"):
        if name in e:
            _object(errors, name, e[name])
    for i, r in enumerate(e.get("resources", [])):
        _object(errors, "resource_details", r, f"resources[{i}]")
    for i, ev in enumerate(e.get("evidences", [])):
        _object(errors, "evidences", ev, f"evidences[{i}]")
        for name in ("process", "container", "device"):
            if name in ev:
                _object(errors, name, ev[name], f"evidences[{i}].{name}")
    return errors


def _flatten(obj, prefix=""):
    for k, v in obj.items():
        if isinstance(v, dict):
            yield from _flatten(v, prefix + k + ".")
        else:
            yield prefix + k, v


def validate_ecs(e):
    errors = []
    ecs = SUBSET["ecs"]
    flat = dict(_flatten(e))
    for required in ("@timestamp", "event.kind", "event.category", "event.action", "event.outcome", "host.name", "observer.vendor", "ecs.version"):
        if required not in flat:
            errors.append(f"{required} is required")
    for k, v in flat.items():
        if k.startswith("safehaven.") or k.startswith("labels."):
            continue
        t = ecs["fields"].get(k)
        if t is None:
            errors.append(f"{k} is not an ECS {ecs['version']} field")
        elif t in ("long", "integer", "scaled_float") and not isinstance(v, int):
            errors.append(f"{k} is {t}, got {v!r}")
        elif t in ("keyword", "match_only_text", "wildcard", "constant_keyword") and not (isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))):
            errors.append(f"{k} is {t}, got {v!r}")
        elif t == "date":
            try:
                datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
            except (AttributeError, ValueError):
                errors.append(f"{k} is a date, got {v!r}")
    for field, allowed in ecs["allowed_values"].items():
        values = flat.get(field)
        for v in values if isinstance(values, list) else ([] if values is None else [values]):
            if v not in allowed:
                errors.append(f"{field} value {v!r} is not allowed ({allowed})")
    if flat.get("event.kind") == "alert" and "rule.name" not in flat:
        errors.append("rule.name is required on an alert")
    return errors


def validate(fmt, event):
    return validate_ocsf(event) if fmt == "ocsf" else validate_ecs(event)


if __name__ == "__main__":
    fmt = sys.argv[1]
    valid, errors = 0, []
    for n, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        problems = validate(fmt, json.loads(line))
        errors += [f"event {n}: {p}" for p in problems]
        valid += not problems
    print(json.dumps({"valid": valid, "errors": errors}))
    sys.exit(1 if errors else 0)
