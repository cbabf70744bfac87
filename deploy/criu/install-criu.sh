#!/usr/bin/env bash
# Installs Debian trixie's criu 4.1.x and its trixie libraries into a private folder and writes a
# launcher <folder>/criu. Debian 12's own criu (3.17) fails on kernels >= 6.13 ([vvar_vclock],
# criu#2532), and trixie's needs glibc 2.38, so the binary runs through the folder's own dynamic
# loader. Nothing outside the folder changes: apt runs with a private sources list, lists, cache and
# status, and packages are unpacked with dpkg-deb -x, never installed.
#
#   usage: install-criu.sh [FOLDER]        (default /opt/safehaven/criu; run as root)
#   env:   SAFEHAVEN_DEBIAN_MIRROR         (default: the first Debian archive of this machine's apt sources)
#
# Idempotent: when FOLDER/criu already runs criu 4.1.x it exits at once.
set -euo pipefail

dest="${1:-/opt/safehaven/criu}"
# The archive this machine already uses (deb822 .sources first, then one-line .list entries), never a fixed host.
configured_mirror() {
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' || true
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | sed 's/\[[^]]*\]//' | awk '{print $2}' || true
  } | grep -v -- '-security' | head -n 1 || true
}
mirror="${SAFEHAVEN_DEBIAN_MIRROR:-$(configured_mirror)}"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
want='^4\.1\.'

# The folder is written into the launcher script: plain characters only.
if [[ ! "$dest" =~ ^/[A-Za-z0-9._/-]+$ || "$dest" == *..* ]]; then
  echo "install-criu: folder must be an absolute path of [A-Za-z0-9._/-] without '..', got '$dest'" >&2; exit 2
fi

installed_version() {
  [ -x "$dest/criu" ] || return 1
  "$dest/criu" --version 2>/dev/null | sed -n 's/^Version: //p'
}

if v="$(installed_version)" && [[ "$v" =~ $want ]]; then
  echo "install-criu: criu $v already in $dest"
  exit 0
fi

for tool in apt-get apt-cache dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "install-criu: $tool is missing" >&2; exit 1; }
done
[ -r "$keyring" ] || { echo "install-criu: $keyring is missing (debian-archive-keyring)" >&2; exit 1; }
[ -n "$mirror" ] || { echo "install-criu: no Debian archive in this machine's apt sources; set SAFEHAVEN_DEBIAN_MIRROR" >&2; exit 1; }

work="$(mktemp -d /tmp/install-criu.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/parts" "$work/prefs" "$work/debs"
: >"$work/status"
# targets=Packages: only the package index is needed, not translations or DEP-11 metadata.
echo "deb [signed-by=$keyring targets=Packages] $mirror trixie main" >"$work/sources.list"

apt_opts=(
  -o "Dir::Etc::SourceList=$work/sources.list"
  -o "Dir::Etc::SourceParts=$work/parts"
  -o "Dir::Etc::Preferences=$work/prefs/none"
  -o "Dir::Etc::PreferencesParts=$work/prefs"
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::State::Status=$work/status"
  -o "Dir::Cache=$work/cache"
  -o "Debug::NoLocking=1"
  -o "APT::Architecture=amd64"
  -o "APT::Architectures::=amd64"
)

echo "install-criu: reading trixie's package index from $mirror"
apt-get "${apt_opts[@]}" -q update >"$work/update.log" 2>&1 || { cat "$work/update.log" >&2; exit 1; }

version="$(apt-cache "${apt_opts[@]}" show criu | sed -n 's/^Version: //p' | head -n1)"
if ! [[ "$version" =~ $want ]]; then
  echo "install-criu: trixie offers criu '$version', expected 4.1.x" >&2
  exit 1
fi

# The closure of hard dependencies (libc6 included: criu 4.1 needs glibc >= 2.38, bookworm has 2.36).
mapfile -t packages < <(apt-cache "${apt_opts[@]}" depends --recurse --no-recommends --no-suggests \
  --no-conflicts --no-breaks --no-replaces --no-enhances criu | grep -E '^[a-z0-9][a-z0-9.+-]*$' | sort -u)
echo "install-criu: criu $version with ${#packages[@]} packages: ${packages[*]}"

(cd "$work/debs" && apt-get "${apt_opts[@]}" -q download "${packages[@]}" >"$work/download.log" 2>&1) \
  || { cat "$work/download.log" >&2; exit 1; }

# Unpack next to the destination and swap in whole, so a half-done run never looks installed.
mkdir -p "$(dirname "$dest")"
stage="$(mktemp -d "$(dirname "$dest")/.criu-stage.XXXXXX")"
trap 'rm -rf "$work" "$stage"' EXIT
mkdir -p "$stage/root"
for deb in "$work"/debs/*.deb; do
  dpkg-deb -x "$deb" "$stage/root"
done

root_lib="$stage/root/usr/lib/x86_64-linux-gnu"
[ -e "$root_lib/ld-linux-x86-64.so.2" ] || { echo "install-criu: no ld-linux-x86-64.so.2 in trixie's libc6" >&2; exit 1; }
[ -x "$stage/root/usr/sbin/criu" ] || { echo "install-criu: no usr/sbin/criu in the criu package" >&2; exit 1; }

cat >"$stage/criu" <<EOF
#!/bin/sh
# criu $version from Debian trixie, run through its own glibc (written by install-criu.sh).
r='$dest/root'
exec "\$r/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --argv0 criu \\
  --library-path "\$r/usr/lib/x86_64-linux-gnu:\$r/lib/x86_64-linux-gnu" "\$r/usr/sbin/criu" "\$@"
EOF
chmod 0755 "$stage/criu"
printf '%s\n' "$version" "${packages[@]}" >"$stage/PACKAGES"

rm -rf "$dest.old"
[ -e "$dest" ] && mv "$dest" "$dest.old"
mv "$stage" "$dest"
chmod 0755 "$dest"
rm -rf "$dest.old"

if ! v="$(installed_version)" || ! [[ "$v" =~ $want ]]; then
  echo "install-criu: $dest/criu does not run (got '${v:-nothing}')" >&2
  "$dest/criu" --version >&2 || true
  exit 1
fi
echo "install-criu: criu $v installed in $dest"
