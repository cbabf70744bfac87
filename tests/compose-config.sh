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
echo "compose-config: OK: docker-compose.yml is valid (${compose[*]})"
