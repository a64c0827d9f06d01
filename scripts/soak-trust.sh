#!/usr/bin/env bash
# The trust soak: the suite's live-source stress test (tests/trust_test.cc, TrustStress) for many
# rounds. Writers rewrite source files in place with their mtime put back, replace them by rename
# and rewrite them plainly while copies (chunked ones among them) run and some are killed -9; after
# each round one quiet sync must leave a clone that `verify --content` and the oracle find exact.
#   scripts/soak-trust.sh [ROUNDS] [SEED]     (default 200 rounds, a seed from the clock)
# Needs a build (scripts/build.sh) and root, like the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-200}
export LMOVER_TRUST_ROUNDS=$rounds
[ -z "${2:-}" ] || export LMOVER_TRUST_SEED=$2
start=$(date +%s)
build/tests/e2e_tests --gtest_filter='TrustStress.*'
echo "soak: $rounds rounds exact in $(( $(date +%s) - start )) s"
