#!/usr/bin/env bash
# Soak: workers killed -9 at random points of a distributed sync, TRIALS times (default 20); every
# trial must end in an exact clone. CI runs the same test with 3 trials.
#   tests/soak/kill_workers.sh [TRIALS]
set -euo pipefail
cd "$(dirname "$0")/../.."
trials=${1:-20}
scripts/build.sh
. tests/services.sh
trap services_stop EXIT
services_start
LMOVER_KILL_TRIALS=$trials build/tests/distributed_tests --gtest_filter='*WorkersKilledMidPass*'
