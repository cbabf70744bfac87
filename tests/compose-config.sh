#!/usr/bin/env bash
# Validates docker-compose.yml (syntax, interpolation, references between services) without a
# Docker engine: `docker-compose config` only parses. Exit 0 when valid; otherwise says why.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || { echo "compose-config: cannot cd to $root" >&2; exit 1; }

if [[ ! -f docker-compose.yml ]]; then
    echo "compose-config: FAIL: $root/docker-compose.yml is missing" >&2
    exit 1
fi

if command -v docker-compose > /dev/null 2>&1; then
    compose=(docker-compose)
elif command -v docker > /dev/null 2>&1 && docker compose version > /dev/null 2>&1; then
    compose=(docker compose)
else
    echo "compose-config: FAIL: neither docker-compose nor 'docker compose' is installed (apt-get install docker-compose)" >&2
    exit 1
fi

if ! output="$("${compose[@]}" -f docker-compose.yml config -q 2>&1)"; then
    echo "compose-config: FAIL: '${compose[*]} -f docker-compose.yml config -q' in $root rejected the file:" >&2
    echo "$output" >&2
    exit 1
fi
if [[ -n "$output" ]]; then
    # Warnings (e.g. an unset variable) are printed but do not fail the check.
    echo "$output" >&2
fi
# The two-datacenter profile (docs/SCALING.md): two KRaft clusters with a pipeline each, an aggregate cluster and
# MirrorMaker 2 with its configuration under deploy/multi-dc/, replicating siem, detections and results only.
if ! services="$("${compose[@]}" -f docker-compose.yml --profile multi-dc config --services 2>&1)"; then
    echo "compose-config: FAIL: the multi-dc profile does not parse:" >&2
    echo "$services" >&2
    exit 1
fi
for service in kafka-dc1 kafka-dc2 kafka-global mirror-maker topics-dc1 topics-dc2 probe-dc1 probe-dc2 detector-dc1 detector-dc2 \
    planner-dc1 planner-dc2 siem-dc1 siem-dc2 actuator-dc1 actuator-dc2; do
    if ! grep -qx "$service" <<< "$services"; then
        echo "compose-config: FAIL: the multi-dc profile has no service $service" >&2
        exit 1
    fi
done
mm2=deploy/multi-dc/mm2.properties
for line in 'clusters = dc1, dc2, global' 'dc1->global.enabled = true' 'dc2->global.enabled = true' 'global->dc1.enabled = false' \
    'dc1->global.topics = safehaven\.(siem|detections|results)' 'dc2->global.topics = safehaven\.(siem|detections|results)'; do
    if ! grep -qxF "$line" "$mm2"; then
        echo "compose-config: FAIL: $mm2 lacks the line '$line'" >&2
        exit 1
    fi
done
# Read the whole output first: grep -q stopping early would fail the pipeline (pipefail) with SIGPIPE.
resolved="$("${compose[@]}" -f docker-compose.yml --profile multi-dc config 2>&1)"
if ! grep -q '/etc/kafka/mm2.properties' <<< "$resolved"; then
    echo "compose-config: FAIL: mirror-maker does not mount $mm2" >&2
    exit 1
fi
# The secured profile: a detector-only principal's service beside the combined detector, and its ACLs in setup.sh.
if ! secured="$("${compose[@]}" -f docker-compose.yml --profile secured config --services 2>&1)"; then
    echo "compose-config: FAIL: the secured profile does not parse:" >&2
    echo "$secured" >&2
    exit 1
fi
for service in kafka-secured topics-secured probe-secured detector-secured detector-only-secured actuator-secured; do
    if ! grep -qx "$service" <<< "$secured"; then
        echo "compose-config: FAIL: the secured profile has no service $service" >&2
        exit 1
    fi
done
if grep -E 'User:detector-only .*(commands|placements|inventory|results|safehaven-planner)' deploy/secured/setup.sh; then
    echo "compose-config: FAIL: the detector-only principal holds planner rights in deploy/secured/setup.sh" >&2
    exit 1
fi
echo "compose-config: OK: docker-compose.yml is valid (${compose[*]}), multi-dc and secured profiles included"
