#!/usr/bin/env bash
# Builds the VM-level test guest from Debian packages only: Debian's cloud kernel (vmlinuz) and a
# busybox-static initramfs (initrd.gz) whose /init prints "heartbeat N" on ttyS0 every 100 ms and
# keeps rewriting a few MB of memory, so a post-copy migration has pages that really change.
# Usage: tests/vm/build-guest.sh OUTDIR   (idempotent: does nothing when both files exist)
# Needs apt lists (apt-get update) and root or a writable OUTDIR; never touches /etc/apt.
set -euo pipefail

out=${1:?usage: build-guest.sh OUTDIR}
if [[ -s "$out/vmlinuz" && -s "$out/initrd.gz" ]]; then
  echo "guest already built in $out"
  exit 0
fi
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# The metapackage only depends on the versioned image; download that one.
kernel_pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[[ -n "$kernel_pkg" ]] || { echo "cannot resolve linux-image-cloud-amd64 (run apt-get update)" >&2; exit 1; }
# Sandbox user root: a private temporary directory the _apt user may not be able to write.
apt-get download -q -o APT::Sandbox::User=root "$kernel_pkg" busybox-static >/dev/null
dpkg-deb -x linux-image-*.deb kernel
dpkg-deb -x busybox-static_*.deb bb
vmlinuz=$(ls kernel/boot/vmlinuz-* | head -n1)
busybox=bb/bin/busybox

root=initramfs
mkdir -p "$root"/{bin,dev,proc,sys,tmp}
cp "$busybox" "$root/bin/busybox"
cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# 4 MB of non-zero data, copied over again and again: pages keep getting dirtied.
dd if=/dev/urandom of=/tmp/m0 bs=1M count=4 2>/dev/null
(while :; do cp /tmp/m0 /tmp/m1; usleep 200000; done) &
n=0
while :; do
  echo "heartbeat $n" > /dev/ttyS0
  n=$((n + 1))
  usleep 100000
done
INIT
chmod 755 "$root/init"
# busybox's own cpio writes the newc archive, so the host needs no cpio package.
(cd "$root" && find . | "$work/$busybox" cpio -o -H newc 2>/dev/null) | gzip -1 > initrd.gz

cp "$vmlinuz" "$out/vmlinuz.tmp" && mv "$out/vmlinuz.tmp" "$out/vmlinuz"
cp initrd.gz "$out/initrd.gz.tmp" && mv "$out/initrd.gz.tmp" "$out/initrd.gz"
echo "guest built in $out ($kernel_pkg)"
