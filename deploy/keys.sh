#!/usr/bin/env bash
# Role keys for docker-compose.yml's pipeline on one host (docs/SECURITY.md, "Key model"). The planner and detector
# refuse to start unless every record kind they consume is sealed by a trusted key, so create these first:
#
#   deploy/keys.sh [HOST_ID] [DATACENTER]      default: $SAFEHAVEN_HOST_ID or safehaven-host, and local
#
# Writes (git-ignored, keys 0600, never overwritten; rerun for another host to enrol it):
#   deploy/keys/planner/   planner + detector keys, the sample MAC master, and the probe/actuator .pub files they trust
#   deploy/keys/trusted/   the planner's .pub, for the agents
#   deploy/keys/hosts/HOST_ID/probe/     that host's probe key and its sample MAC key (only that host mounts it)
#   deploy/keys/hosts/HOST_ID/actuator/  that host's actuator key
#   deploy/keys/agents/AGENT_ID/         the key of the hypervisor and container agents ($SAFEHAVEN_HYPERVISOR_ID,
#                                        $SAFEHAVEN_CONTAINER_ID; their results are checked like the host agent's)
# The containers read them as their own users (detector: the image's app user, 1654; probe, actuator: root): chown
# deploy/keys/planner to 1654 on the Docker host.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

host="${1:-${SAFEHAVEN_HOST_ID:-safehaven-host}}"
dc="${2:-local}"
keys=deploy/keys
probe="$keys/hosts/$host/probe"
actuator="$keys/hosts/$host/actuator"
mkdir -p "$keys"
chmod 700 "$keys"

# Prints the id of the newest key of ROLE in DIR, if any (the third line of a key file names its role).
newest() { local dir="$1" role="$2" f; for f in $(ls -t "$dir"/*.key 2>/dev/null); do
    if [[ "$role" == planner && "$(sed -n 3p "$f")" == "" ]] || [[ "$(sed -n 3p "$f")" == "role: $role "* ]]; then basename "$f" .key; return; fi
done; }

if [[ -z "$(newest "$keys/planner" planner)" ]]; then ./safehaven keys generate --dir "$keys/planner" > /dev/null; fi
if [[ -z "$(newest "$keys/planner" detector)" ]]; then ./safehaven keys generate --dir "$keys/planner" --role detector --subject detector > /dev/null; fi
if ! ls "$keys"/planner/*.mac > /dev/null 2>&1; then ./safehaven keys sample-master --dir "$keys/planner" > /dev/null; fi
if ! grep -qsx "role: probe $dc/$host" "$probe"/*.key; then ./safehaven keys generate --dir "$probe" --role probe --subject "$dc/$host" > /dev/null; fi
if ! grep -qsx "role: probe $dc/$host" "$probe"/*.hostmac; then
    ./safehaven keys enrol --master "$(ls -t "$keys"/planner/*.mac | head -1)" --subject "$dc/$host" --dir "$probe" > /dev/null
fi
if ! grep -qsx "role: actuator $host" "$actuator"/*.key; then ./safehaven keys generate --dir "$actuator" --role actuator --subject "$host" > /dev/null; fi

for agent in "${SAFEHAVEN_HYPERVISOR_ID:-safehaven-hypervisor}" "${SAFEHAVEN_CONTAINER_ID:-safehaven-container}"; do
    if ! grep -qsx "role: actuator $agent" "$keys/agents/$agent"/*.key; then
        ./safehaven keys generate --dir "$keys/agents/$agent" --role actuator --subject "$agent" > /dev/null
    fi
done

# Trust: the detect role checks probe and actuator seals with the .pub files beside its own keys; agents trust the planner.
mkdir -p "$keys/trusted"
cp "$keys"/hosts/*/probe/*.pub "$keys"/hosts/*/actuator/*.pub "$keys"/agents/*/*.pub "$keys/planner/"
cp "$keys/planner/$(newest "$keys/planner" planner).pub" "$keys/trusted/"
chmod 644 "$keys"/planner/*.pub "$keys"/trusted/*.pub
# The detector-only container (secured profile, `detect` alone): the detector key, the sample master and the .pub files
# it checks seals with; never the planner's private key.
mkdir -p "$keys/detector"
chmod 700 "$keys/detector"
detector_key="$(newest "$keys/planner" detector)"
cp "$keys/planner/$detector_key.key" "$keys"/planner/*.mac "$keys"/planner/*.pub "$keys/detector/"
chmod 600 "$keys/detector/$detector_key.key" "$keys"/detector/*.mac
chmod 644 "$keys"/detector/*.pub
echo "keys: host $dc/$host enrolled under $keys (planner, trusted, probe, actuator)"
