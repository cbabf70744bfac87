#!/usr/bin/env bash
# Runs ONE private libvirtd (Debian 12: no systemd, no virtqemud) whose whole state lives under ROOT, so
# several daemons can share one machine and migrate guests between each other.
#
#   libvirt-daemon.sh start ROOT PORT_MIN   runs in the foreground until stopped; prints "ready SOCKET"
#                                           on stdout once the daemon answers. SOCKET = ROOT/run/libvirt-sock
#   libvirt-daemon.sh stop ROOT             stops the daemon of ROOT and every QEMU it started; SIGKILL of
#                                           the start process does the same (it is unshare by then, which
#                                           ignores SIGTERM and SIGINT while its child lives)
#
# How it is private: `unshare -m -p -f` gives the daemon its own mount namespace, where ROOT/{etc,run,lib,
# log,cache} are bind-mounted over /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/log/libvirt and
# /var/cache/libvirt, and its own PID namespace: when the namespace's PID 1 ends (`stop`, or SIGKILL of the
# start process), the kernel kills every process in it, the QEMU guests included. Nothing outside ROOT is
# written except the five empty mount points, created when missing. Guests' serial files and migration
# sockets must lie outside those five directories (e.g. under ROOT or /tmp) to be the same file for both daemons.
# Needs root and: libvirt-daemon libvirt-clients qemu-system-x86 (apt-get --no-install-recommends).
set -euo pipefail

die() { echo "libvirt-daemon.sh: $*" >&2; exit 2; }

# ROOT becomes part of config strings and mount commands: absolute, plain characters, socket path < 108 bytes.
check_root() {
  [[ "$1" =~ ^/[A-Za-z0-9._/-]+$ && "$1" != *..* ]] || die "ROOT '$1' must be an absolute path of [A-Za-z0-9._/-] without '..'"
  (( ${#1} <= 80 )) || die "ROOT '$1' is longer than 80 characters (the unix socket path under it must fit 108 bytes)"
}

mounts=(etc:/etc/libvirt run:/run/libvirt lib:/var/lib/libvirt log:/var/log/libvirt cache:/var/cache/libvirt)

# Inside the namespaces (PID 1 is this bash: it reaps the QEMU processes libvirtd daemonises).
inner() {
  local root=$1
  check_root "$root"
  for m in "${mounts[@]}"; do
    mount --bind "$root/${m%%:*}" "${m#*:}"
  done
  # libvirt's QEMU driver resolves its built-in user 'libvirt-qemu' before it reads qemu.conf (which runs
  # QEMU as root here); libvirt-daemon-system would create it but drags in systemd. Give this namespace
  # private account files that have it, and leave the host's untouched.
  if ! getent passwd libvirt-qemu >/dev/null || ! getent group libvirt-qemu >/dev/null; then
    cp /etc/passwd "$root/passwd"
    cp /etc/group "$root/group"
    getent passwd libvirt-qemu >/dev/null || echo "libvirt-qemu:x:64055:64055:libvirt (private daemon):/nonexistent:/usr/sbin/nologin" >> "$root/passwd"
    getent group libvirt-qemu >/dev/null || echo "libvirt-qemu:x:64055:" >> "$root/group"
    mount --bind "$root/passwd" /etc/passwd
    mount --bind "$root/group" /etc/group
  fi
  # A fresh /proc for this PID namespace: libvirt checks its QEMU processes through /proc/PID.
  mount -t proc proc /proc
  local daemon=""
  # Set first: as PID 1 this shell ignores any signal it has no handler for.
  trap '[[ -n "$daemon" ]] && kill -TERM "$daemon" 2>/dev/null' TERM INT
  /usr/sbin/libvirtd --pid-file /run/libvirt/libvirtd.pid --config /etc/libvirt/libvirtd.conf &
  daemon=$!
  # Returns when libvirtd ends, or when a trapped signal arrives: then once more, for libvirtd's own shutdown.
  # As this PID 1 exits, the kernel ends whatever is left in the namespace (the guests).
  wait "$daemon" || true
  wait "$daemon" 2>/dev/null || true
}

start() {
  local root=$1 port_min=$2
  check_root "$root"
  [[ "$port_min" =~ ^[0-9]{4,5}$ ]] && (( port_min >= 1024 && port_min <= 65000 )) || die "PORT_MIN '$port_min' must be 1024..65000"
  [[ $EUID -eq 0 ]] || die "needs root (mount and PID namespaces, bind mounts, QEMU's userfaultfd)"
  [[ -x /usr/sbin/libvirtd ]] || die "/usr/sbin/libvirtd is missing (apt-get install --no-install-recommends libvirt-daemon libvirt-clients)"
  if [[ -f "$root/daemon.pid" && "$(cat "/proc/$(cat "$root/daemon.pid")/comm" 2>/dev/null)" == unshare ]]; then
    die "a daemon already runs for $root (pid $(cat "$root/daemon.pid"))"
  fi
  install -d -m 0700 "$root"
  for m in "${mounts[@]}"; do
    install -d -m 0700 "$root/${m%%:*}"
    install -d -m 0755 "${m#*:}"
  done
  # install -d leaves an existing directory's owner as it is: ROOT/etc becomes /etc/libvirt (hooks run as
  # root), so every directory under ROOT must be root's alone.
  local d
  for d in "$root" "$root"/{etc,run,lib,log,cache}; do
    [[ -d "$d" && ! -L "$d" && "$(stat -c %u "$d")" == 0 ]] || die "$d must be a real directory owned by root"
    (( (8#$(stat -c %a "$d") & 8#022) == 0 )) || die "$d is writable by group or others"
  done
  # Keep the host's client configuration (libvirt.conf, libvirt-admin.conf); write the daemon's own.
  cp -n /etc/libvirt/*.conf "$root/etc/" 2>/dev/null || true
  # libvirt refuses to migrate between daemons with the same host UUID; keep it across restarts of ROOT.
  local uuid
  uuid=$(sed -n 's/^host_uuid = "\(.*\)"$/\1/p' "$root/etc/libvirtd.conf" 2>/dev/null || true)
  [[ -n "$uuid" ]] || uuid=$(cat /proc/sys/kernel/random/uuid)
  cat > "$root/etc/libvirtd.conf" <<EOF
host_uuid = "$uuid"
auth_unix_rw = "none"
auth_unix_ro = "none"
unix_sock_rw_perms = "0700"
unix_sock_ro_perms = "0700"
unix_sock_admin_perms = "0700"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
  cat > "$root/etc/qemu.conf" <<EOF
security_driver = "none"
stdio_handler = "file"
cgroup_controllers = [ ]
migration_port_min = $port_min
migration_port_max = $((port_min + 63))
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
EOF
  rm -f "$root/run/libvirt-sock" "$root/run/libvirt-sock-ro" "$root/run/libvirt-admin-sock"
  echo $$ > "$root/daemon.pid"
  # Announces readiness from the side, and gives up when the daemon ($$, after the exec below) is gone.
  # Forked twice, so that no zombie of it hangs under unshare, which never reaps it.
  ( (
    for ((i = 0; i < 600; i++)); do
      if [[ -S "$root/run/libvirt-sock" ]] && virsh -q -c "qemu+unix:///system?socket=$root/run/libvirt-sock" version >/dev/null 2>&1; then
        echo "ready $root/run/libvirt-sock"
        exit 0
      fi
      kill -0 $$ 2>/dev/null || exit 1
      sleep 0.1
    done
    echo "libvirt-daemon.sh: libvirtd did not answer within 60 s" >&2
    kill -TERM $$
  ) & )
  # exec: the caller's process IS unshare, so any kill of it (SIGKILL included) ends the namespace's PID 1
  # (--kill-child), and with it libvirtd and every guest.
  exec unshare --mount --propagation private --pid --fork --kill-child -- /bin/bash "$0" _inner "$root"
}

stop() {
  local root=$1
  check_root "$root"
  local pid
  pid=$(cat "$root/daemon.pid" 2>/dev/null) || { echo "no daemon for $root"; return 0; }
  [[ "$pid" =~ ^[0-9]+$ ]] || die "$root/daemon.pid holds '$pid', not a pid"
  # A stale file may name a reused pid: only an unshare process is ours.
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == unshare ]] || { echo "no daemon for $root"; return 0; }
  # unshare ignores SIGTERM while its child lives; the namespace's PID 1 (its child) stops libvirtd first.
  local init
  for init in $(cat "/proc/$pid/task/$pid/children" 2>/dev/null); do
    kill -TERM "$init" 2>/dev/null || true
  done
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  # SIGKILL on unshare is always final: --kill-child takes the namespace down with it.
  kill -KILL "$pid" 2>/dev/null || true
  echo "libvirt-daemon.sh: daemon $pid for $root did not stop within 10 s; killed" >&2
}

case "${1:-}" in
  start) (( $# == 3 )) || die "usage: libvirt-daemon.sh start ROOT PORT_MIN"; start "$2" "$3" ;;
  stop) (( $# == 2 )) || die "usage: libvirt-daemon.sh stop ROOT"; stop "$2" ;;
  _inner) inner "$2" ;;
  *) die "usage: libvirt-daemon.sh start ROOT PORT_MIN | stop ROOT" ;;
esac
