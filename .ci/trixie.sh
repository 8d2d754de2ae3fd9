#!/usr/bin/env bash
# libnbd 1.22's own tools (nbdinfo, nbdcopy, nbddump, nbdsh), nbdkit 1.42 and
# qemu 10 from Debian trixie, in a chroot at /opt/trixie, as the oracle the tool
# tests compare jnbd's output with (bookworm's libnbd 1.14 prints fewer fields).
# As root. Idempotent: builds the chroot once, then (re)does the mounts the
# tests need: /tmp for sockets and files, /dev, /proc.
set -euo pipefail
root=/opt/trixie
if [ ! -x "$root/usr/bin/nbdinfo" ]; then
  command -v debootstrap >/dev/null || apt-get install -y -q --no-install-recommends debootstrap
  rm -rf "$root.part"
  debootstrap --variant=minbase --include=libnbd-bin,nbdkit,qemu-utils,python3-libnbd,file \
    trixie "$root.part" http://deb.debian.org/debian >/tmp/trixie-debootstrap.log 2>&1 \
    || { tail -30 /tmp/trixie-debootstrap.log; exit 1; }
  mv "$root.part" "$root"
fi
for d in tmp dev proc; do
  if ! mountpoint -q "$root/$d"; then
    case $d in
      proc) mount -t proc proc "$root/proc" ;;
      *) mount --bind "/$d" "$root/$d" ;;
    esac
  fi
done
chroot "$root" nbdinfo --version
