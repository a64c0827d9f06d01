#!/bin/bash
# README's quick start, run as written: the block between <!-- quickstart:begin/end --> in
# README.md, with its variables set to the suite's broker (tests/services.sh) and a generated tree,
# and the build's lmover first on PATH. The clone is then checked by rsync.
#   quickstart_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir=$1 build=$2
: "${LMOVER_TEST_BROKER:?not set: run under scripts/test.sh (tests/services.sh)}"
: "${LMOVER_TEST_BROKER_API:?not set}" "${LMOVER_BROKER_PASSWORD:?not set}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The lines between the fences of the marked block.
block=$(sed -n '/<!-- quickstart:begin -->/,/<!-- quickstart:end -->/p' "$source_dir/README.md" | sed '1,2d' | sed '$d' | sed '$d')
[ -n "$block" ] || { echo "FAIL: no quick start block in README.md"; exit 1; }

mkdir -p "$work/src/a/b"
for i in $(seq 1 50); do head -c $((i * 97)) /dev/urandom >"$work/src/a/f$i"; done
ln "$work/src/a/f1" "$work/src/a/b/hard"
ln -s ../f2 "$work/src/a/b/link"
setfattr -n user.k -v v "$work/src/a/f3"

hostport=${LMOVER_TEST_BROKER#*@}
hostport=${hostport%%/*}
api=${LMOVER_TEST_BROKER_API#http://}
admin=${LMOVER_TEST_BROKER#amqp://}
export MQ=${hostport%:*} AMQP_PORT=${hostport##*:} API_PORT=${api##*:} ADMIN=${admin%%@*}
export LMOVER_BROKER_ADMIN_PASSWORD=$LMOVER_BROKER_PASSWORD
export ETC=$work/etc SRC=$work/src DST=$work/dst
unset LMOVER_BROKER_PASSWORD LMOVER_CONFIG  # the quick start's own password file, nothing else
export PATH="$build:$PATH"

if ! (cd "$work" && timeout 300 bash -euo pipefail -c "$block") >"$work/out.log" 2>&1; then
  cat "$work/out.log"
  echo "FAIL: the quick start did not run as written"
  exit 1
fi
changes=$(rsync -aHAXn --itemize-changes "$SRC/" "$DST/")
[ -z "$changes" ] || { cat "$work/out.log"; echo "FAIL: rsync finds differences: $changes"; exit 1; }
grep -q '"exit_code": 0' "$ETC/sync.json" || { cat "$ETC/sync.json"; echo "FAIL: the sync's summary"; exit 1; }
grep -Eq ' copy +complete ' "$work/out.log" || { cat "$work/out.log"; echo "FAIL: status did not list the copy as complete"; exit 1; }
echo "quick start ok: $(grep -c . "$work/out.log") lines of output, the clone exact"
