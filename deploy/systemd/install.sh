#!/usr/bin/env bash
# Installs SafeHaven's roles as systemd services on this host (docs/OPERATIONS.md, "Service units"):
#   - publishes the CLI into /opt/safehaven (needs the .NET 10 SDK here; hosts without it can receive the folder),
#   - creates the unprivileged 'safehaven' system user for detect, plan and siem,
#   - writes /etc/safehaven/safehaven.env from the example unless it exists, and copies the units.
# It enables nothing: choose this host's roles, put their keys under /etc/safehaven/keys (deploy/keys.sh layout),
# then `systemctl enable --now safehaven-ROLE`.
#
#   usage: deploy/systemd/install.sh        (as root, from a clone of the repository)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
[[ $EUID -eq 0 ]] || { echo "install.sh: run as root" >&2; exit 2; }

dotnet publish cli/SafeHaven.Cli/SafeHaven.Cli.csproj -c Release -o /opt/safehaven -p:UseAppHost=false --nologo -v quiet
install -d -m 0755 /opt/safehaven/docs
install -m 0644 docs/OPERATIONS.md docs/SECURITY.md /opt/safehaven/docs/

getent group safehaven >/dev/null || groupadd --system safehaven
getent passwd safehaven >/dev/null || useradd --system --gid safehaven --home-dir /nonexistent --shell /usr/sbin/nologin safehaven

install -d -m 0750 -g safehaven /etc/safehaven /etc/safehaven/keys
[[ -e /etc/safehaven/safehaven.env ]] || install -m 0640 -g safehaven deploy/systemd/safehaven.env.example /etc/safehaven/safehaven.env
[[ -e /etc/safehaven/rules.yaml ]] || install -m 0640 -g safehaven examples/rules/covert-channel.yaml /etc/safehaven/rules.yaml

install -m 0644 deploy/systemd/safehaven-*.service /etc/systemd/system/
if [[ -d /run/systemd/system ]]; then
  systemctl daemon-reload
fi
echo "installed: /opt/safehaven, /etc/safehaven, $(ls deploy/systemd/*.service | xargs -n1 basename | tr '\n' ' ')"
echo "next: keys under /etc/safehaven/keys/{probe,planner,siem,actuator,agent,trusted}, then systemctl enable --now safehaven-ROLE"
