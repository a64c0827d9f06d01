#!/usr/bin/env bash
# Installs dependencies, builds, starts the test services (RabbitMQ on loopback) and runs the whole
# test suite (unit + end-to-end + distributed). Needs root: the tests create devices, set foreign
# owners and trusted.* xattrs, and mount a small tmpfs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
# A throwaway RabbitMQ, memcached and carbon-cache on loopback for the tests, stopped (by PID) on any exit.
. tests/services.sh
trap services_stop EXIT
services_start
cd build
ctest --output-on-failure --timeout 900 -j"$(nproc)"
