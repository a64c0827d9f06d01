#!/usr/bin/env bash
# Installs what lmover needs to build, test and benchmark on Debian 12 (run as root).
# Skips apt entirely when everything is already there, so repeated runs are fast and offline-safe.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libxxhash-dev libacl1-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  librabbitmq-dev rabbitmq-server libtomlplusplus-dev libcpp-httplib-dev
  acl attr rsync fpart procps time bc openssl iproute2 socat xfsprogs
  libsystemd-dev help2man bash-completion
  memcached libmemcached-dev libmemcached-tools graphite-carbon python3-whisper python3-prometheus-client
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # rabbitmq-server's postinst starts the system broker and fails the install where that cannot
  # work (no systemd). The tests start their own broker on loopback: keep apt from starting any.
  made_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
fi
