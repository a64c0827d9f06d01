#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite (unit + end-to-end). Needs root:
# the tests create devices, set foreign owners and trusted.* xattrs, and mount a small tmpfs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd build
ctest --output-on-failure --timeout 900 -j"$(nproc)"
