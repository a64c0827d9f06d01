#!/usr/bin/env bash
# Configures and builds lmover (Release with debug info) into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
# /usr: where the Debian package (cpack -G DEB, README "Install") puts lmover; the units name it.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build build
