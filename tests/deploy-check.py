#!/usr/bin/env python3
"""Checks the service units and the Kubernetes example against the CLI they start (docs/OPERATIONS.md).

- every systemd unit passes `systemd-analyze verify` with no complaint, restarts on failure, stops with SIGTERM
  within a bounded timeout, and drops privileges as its role allows;
- every workload in deploy/kubernetes parses, its selector matches its pod labels, and it has a grace period;
- every verb and flag a unit or a pod passes exists in the built CLI's --help, so a renamed flag breaks this check,
  not a production host.
usage: tests/deploy-check.py CLI_DLL      (run by tests/run after the build; exit 0 ok, 1 with each problem printed)
"""
import glob, os, re, shlex, shutil, subprocess, sys, tempfile

import yaml  # Debian python3-yaml

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
dll = sys.argv[1]
problems = []
helps = {}


def flags_of(verb):
    if verb not in helps:
        r = subprocess.run(["dotnet", dll, verb, "--help"], capture_output=True, text=True, timeout=60)
        helps[verb] = None if r.returncode != 0 else set(re.findall(r"(--[a-z][a-z0-9-]*)", r.stdout))
    return helps[verb]


def check_args(where, args):
    verb = args[0]
    known = flags_of(verb)
    if known is None:
        problems.append(f"{where}: '{verb}' is not a verb of the CLI")
        return
    for a in args[1:]:
        if a.startswith("--") and a not in known:
            problems.append(f"{where}: {verb} has no flag {a}")


units = sorted(glob.glob(os.path.join(root, "deploy/systemd/*.service")))
if not units:
    problems.append("deploy/systemd: no units")
dotnet = shutil.which("dotnet")
with tempfile.TemporaryDirectory() as tmp:
    for path in units:
        name = os.path.basename(path)
        text = open(path).read()
        keys = dict(re.findall(r"^([A-Za-z]+)=(.*)$", text, re.M))
        for key, want in [("Restart", "on-failure"), ("KillSignal", "SIGTERM"), ("NoNewPrivileges", "yes"),
                          ("ProtectSystem", "strict")]:
            if keys.get(key) != want:
                problems.append(f"{name}: {key}={keys.get(key)}, expected {want}")
        if not re.fullmatch(r"\d+s", keys.get("TimeoutStopSec", "")):
            problems.append(f"{name}: TimeoutStopSec must be a bounded number of seconds")
        if "MemoryDenyWriteExecute" in keys:
            problems.append(f"{name}: MemoryDenyWriteExecute stops the .NET JIT")
        exec_start = shlex.split(keys["ExecStart"])
        if exec_start[:2] != ["/usr/bin/dotnet", "/opt/safehaven/safehaven.dll"]:
            problems.append(f"{name}: ExecStart must run /usr/bin/dotnet /opt/safehaven/safehaven.dll")
        role = name[len("safehaven-"):-len(".service")]
        if exec_start[2] != role:
            problems.append(f"{name}: starts verb {exec_start[2]}, expected {role}")
        check_args(name, [a for a in exec_start[2:] if not a.startswith("$")])
        if role in ("detect", "plan", "siem") and (keys.get("User") != "safehaven" or keys.get("CapabilityBoundingSet") != ""):
            problems.append(f"{name}: a Kafka-only role must run as 'safehaven' with no capabilities")
        # verify resolves ExecStart's binary: point a copy at this machine's dotnet when it lives elsewhere.
        copy = os.path.join(tmp, name)
        open(copy, "w").write(text if dotnet in (None, "/usr/bin/dotnet") else text.replace("/usr/bin/dotnet", dotnet))
    if shutil.which("systemd-analyze"):
        for path in sorted(glob.glob(os.path.join(tmp, "*.service"))):
            r = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True, timeout=60)
            said = [l for l in (r.stdout + r.stderr).splitlines() if os.path.basename(path) in l or "Unknown" in l]
            if r.returncode != 0 or said:
                problems.append(f"{os.path.basename(path)}: systemd-analyze verify: {' | '.join(said) or r.returncode}")
    else:
        print("deploy-check: systemd-analyze not installed: unit syntax not verified", file=sys.stderr)

docs = [d for f in sorted(glob.glob(os.path.join(root, "deploy/kubernetes/*.yaml"))) for d in yaml.safe_load_all(open(f)) if d]
workloads = [d for d in docs if d.get("kind") in ("Deployment", "DaemonSet")]
for kind, component in [("DaemonSet", "probe"), ("DaemonSet", "actuate"), ("Deployment", "detect"), ("Deployment", "plan"), ("Deployment", "siem")]:
    if not any(w["kind"] == kind and w["metadata"]["name"] == f"safehaven-{component}" for w in workloads):
        problems.append(f"kubernetes: no {kind} safehaven-{component}")
for w in workloads:
    where = f"kubernetes {w['kind']}/{w['metadata']['name']}"
    spec = w["spec"]
    labels = spec["template"]["metadata"]["labels"]
    if any(labels.get(k) != v for k, v in spec["selector"]["matchLabels"].items()):
        problems.append(f"{where}: selector does not match the pod labels")
    pod = spec["template"]["spec"]
    if not pod.get("terminationGracePeriodSeconds"):
        problems.append(f"{where}: no terminationGracePeriodSeconds")
    for c in pod["containers"]:
        check_args(where, c["args"])
        caps = c.get("securityContext", {}).get("capabilities", {})
        if caps.get("drop") != ["ALL"]:
            problems.append(f"{where}: container {c['name']} must drop ALL capabilities")
        mounts = {m["name"] for m in c.get("volumeMounts", [])}
        volumes = {v["name"] for v in pod.get("volumes", [])}
        if mounts - volumes:
            problems.append(f"{where}: mounts undefined volumes {sorted(mounts - volumes)}")

for p in problems:
    print(f"deploy-check: FAIL: {p}", file=sys.stderr)
if problems:
    sys.exit(1)
print(f"deploy-check: OK: {len(units)} systemd units, {len(workloads)} Kubernetes workloads, {len(helps)} verbs checked")
