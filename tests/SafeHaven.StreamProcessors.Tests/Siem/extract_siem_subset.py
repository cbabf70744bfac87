#!/usr/bin/env python3
"""Writes siem-schema-subset.json: the parts of OCSF and ECS that the SIEM projections are validated against.

Run from a checkout of each upstream repository (git clone https://github.com/ocsf/ocsf-schema, .../elastic/ecs):
  extract_siem_subset.py OCSF_REPO OCSF_COMMIT ECS_REPO ECS_TAG > siem-schema-subset.json
The checked-in file was made from ocsf-schema v1.8.0 (3dcb905d26523ce4d5d0ba3c28c8507e2c859407, "v1.8.0 prep")
and ecs v9.4.0.
"""
import csv, io, json, subprocess, sys
import yaml

ocsf_repo, ocsf_commit, ecs_repo, ecs_tag = sys.argv[1:5]

def show(repo, rev, path):
    return subprocess.run(["git", "-C", repo, "show", f"{rev}:{path}"], check=True, capture_output=True, text=True).stdout

def ocsf(path):
    return json.loads(show(ocsf_repo, ocsf_commit, path))

def attrs(doc):
    return {k: v for k, v in doc.get("attributes", {}).items() if not k.startswith("$")}

dictionary = attrs(ocsf("dictionary.json"))
base = attrs(ocsf("events/base_event.json"))
profiles = {p: attrs(ocsf(f"profiles/{p}.json")) for p in ("host", "container")}

def enum(name, *layers):
    out = {k: v["caption"] for k, v in dictionary[name].get("enum", {}).items()}
    for layer in layers:
        out.update({k: v["caption"] for k, v in layer.get(name, {}).get("enum", {}).items()})
    return out

def event_class(uid, category_uid, chain):
    layers = [base] + [attrs(ocsf(p)) for p in chain]
    merged = {}
    for layer in layers:
        for k, v in layer.items():
            merged.setdefault(k, {}).update(v)
    for p in profiles.values():
        for k, v in p.items():
            merged.setdefault(k, {}).setdefault("requirement", v.get("requirement", "optional"))
    leaf = ocsf(chain[-1])
    return {
        "name": leaf["name"], "caption": leaf["caption"], "category_uid": category_uid,
        "attributes": sorted(merged),
        "required": sorted(k for k, v in merged.items() if v.get("requirement") == "required"),
        "activity_id": enum("activity_id", *layers),
        "status_id": enum("status_id", *layers),
        "source": chain,
    }

def obj(name):
    doc = ocsf(f"objects/{name}.json")
    a = attrs(doc)
    parent = doc.get("extends")
    chain = [doc]
    while parent and parent != "object":
        pdoc = ocsf(f"objects/{parent}.json")
        chain.append(pdoc)
        parent = pdoc.get("extends")
    merged = {}
    for d in reversed(chain):
        for k, v in attrs(d).items():
            merged.setdefault(k, {}).update(v)
    constraints = next((d["constraints"] for d in chain if d.get("constraints")), {})
    return {"attributes": sorted(merged),
            "required": sorted(k for k, v in merged.items() if v.get("requirement") == "required"),
            "at_least_one": constraints.get("at_least_one", [])}

ocsf_subset = {
    "version": json.loads(show(ocsf_repo, ocsf_commit, "version.json"))["version"],
    "source": f"https://github.com/ocsf/ocsf-schema at {ocsf_commit}",
    "severity_id": enum("severity_id"),
    "classes": {
        "2004": event_class(2004, 2, ["events/findings/finding.json", "events/findings/detection_finding.json"]),
        "7001": event_class(7001, 7, ["events/remediation/remediation_activity.json"]),
        "7003": event_class(7003, 7, ["events/remediation/remediation_activity.json", "events/remediation/process_remediation_activity.json"]),
    },
    "objects": {n: obj(n) for n in ("metadata", "product", "finding_info", "analytic", "device", "process", "container", "resource_details", "evidences")},
}
ocsf_subset["objects"]["device"]["type_id"] = {k: v["caption"] for k, v in attrs(ocsf("objects/endpoint.json"))["type_id"]["enum"].items()}

fields = list(csv.DictReader(io.StringIO(show(ecs_repo, ecs_tag, "generated/csv/fields.csv"))))
flat = yaml.safe_load(show(ecs_repo, ecs_tag, "generated/ecs/ecs_flat.yml"))
wanted = ("@timestamp", "message", "ecs.", "event.", "host.", "process.", "container.", "rule.", "observer.", "labels", "tags")
ecs_subset = {
    "version": fields[0]["ECS_Version"],
    "source": f"https://github.com/elastic/ecs {ecs_tag}: generated/csv/fields.csv, generated/ecs/ecs_flat.yml",
    "fields": {f["Field"]: f["Type"] for f in fields if f["Field"].startswith(wanted)},
    "allowed_values": {k: sorted(v["name"] for v in flat[k]["allowed_values"]) for k in ("event.kind", "event.category", "event.type", "event.outcome")},
}
json.dump({"ocsf": ocsf_subset, "ecs": ecs_subset}, sys.stdout, indent=1, sort_keys=True)
print()
