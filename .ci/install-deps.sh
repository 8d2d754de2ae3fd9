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
  nbdkit nbd-server libnbd-bin gnutls-bin file procps
apt-get install -y -q --no-install-recommends -t bookworm-backports qemu-utils
