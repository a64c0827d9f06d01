#!/usr/bin/env bash
# Installs dependencies, builds lmover, makes a small example tree and clones it with
# `lmover copy` on the embedded engine, then shows that rsync finds nothing left to do.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
demo=$(mktemp -d /tmp/lmover-demo-XXXXXX)
mkdir -p "$demo/src/projects/alpha" "$demo/src/scratch"
for i in $(seq 1 200); do head -c $((i * 97)) /dev/urandom >"$demo/src/projects/alpha/file$i"; done
ln "$demo/src/projects/alpha/file1" "$demo/src/scratch/hardlink"
ln -s ../projects/alpha "$demo/src/scratch/symlink"
setfattr -n user.owner -v demo "$demo/src/projects/alpha/file2"
truncate -s 1G "$demo/src/scratch/sparse"
echo "+ build/lmover copy $demo/src $demo/dst"
build/lmover copy "$demo/src" "$demo/dst"
echo "+ build/lmover dirtime $demo/src $demo/dst"
build/lmover dirtime "$demo/src" "$demo/dst"
echo "+ rsync -aHAXn --itemize-changes (empty means identical)"
rsync -aHAXn --itemize-changes "$demo/src/" "$demo/dst/"
echo "clone is in $demo/dst"
