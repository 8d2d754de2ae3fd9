#!/usr/bin/env bash
# Installs the NBD servers, libnbd's tools and TLS key tools the tests use.
# Debian bookworm, as root. qemu-nbd comes from bookworm-backports (qemu >= 9
# speaks extended headers).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
  cat > /etc/apt/sources.list.d/jnbd-backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
apt-get update -q
apt-get install -y -q --no-install-recommends \
  nbdkit nbd-server libnbd-bin gnutls-bin file procps fio
apt-get install -y -q --no-install-recommends -t bookworm-backports qemu-utils
# qemu-nbd 7.2 (bookworm's own) beside 10, for interop with both: unpacked, not installed.
if [ ! -x /opt/qemu-7.2/usr/bin/qemu-nbd ]; then
  tmp=$(mktemp -d)
  chmod a+rwx "$tmp"  # apt-get download writes as the _apt user
  (cd "$tmp" && apt-get download -q qemu-utils/bookworm && dpkg -x qemu-utils_*.deb /opt/qemu-7.2)
  rm -rf "$tmp"
fi
# libnbd 1.22's tools, nbdkit 1.42 and qemu 10 from trixie, in /opt/trixie: the
# oracle of the tool tests.
bash "$(dirname "$0")/trixie.sh"
