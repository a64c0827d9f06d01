#!/usr/bin/env bash
# What one lmover build's no-op re-run costs against another's (or against itself with other
# options), on the same tree: each copies the tree once into its own target, then their no-op
# `copy` passes alternate, `sync` before each, best of N. For changes to the change rule, where the
# no-op pass is what the final downtime pays per unchanged entry.
#
#   bench/noop_cost.sh --a BIN [--a-args "..."] --b BIN [--b-args "..."] [--tree small] [--where tmpfs|disk|DIR] [--runs N]
#
# Trees as bench/run.sh makes them (bench/make_tree.c). rsync -aHAX's no-op is timed beside them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$here/../build}
a= b= a_args= b_args= tree=small where=tmpfs runs=5
while (($#)); do
  case $1 in
    --a) a=$2; shift 2 ;;
    --b) b=$2; shift 2 ;;
    --a-args) a_args=$2; shift 2 ;;
    --b-args) b_args=$2; shift 2 ;;
    --tree) tree=$2; shift 2 ;;
    --where) where=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$a" ] && [ -x "$b" ] || { echo "--a and --b name lmover binaries" >&2; exit 2; }
case $where in tmpfs) base=/dev/shm/lmover-bench ;; disk) base=/var/tmp/lmover-bench ;; *) base=$where ;; esac
mkdir -p "$base"
src=$base/src-$tree
if [ ! -e "$src/.complete" ]; then
  rm -rf "$src"
  "$build/make_tree" "$tree" "$src"
  touch "$src/.complete"
fi
rm -rf "$base/noop-a" "$base/noop-b" "$base/noop-r"
# shellcheck disable=SC2086
"$a" sync "$src" "$base/noop-a" --no-progress $a_args >/dev/null 2>&1
# shellcheck disable=SC2086
"$b" sync "$src" "$base/noop-b" --no-progress $b_args >/dev/null 2>&1
rsync -aHAX "$src/" "$base/noop-r/"
best() { # best NAME SECONDS
  local old=${best_of[$1]:-}
  if [ -z "$old" ] || (($(echo "$2 < $old" | bc))); then best_of[$1]=$2; fi
}
declare -A best_of
time_it() { # time_it NAME COMMAND...
  local name=$1; shift
  sync
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s.%N)
  best "$name" "$(echo "$t1 - $t0" | bc)"
}
for ((r = 0; r < runs; r++)); do
  # shellcheck disable=SC2086
  time_it a "$a" copy "$src" "$base/noop-a" --no-progress $a_args
  # shellcheck disable=SC2086
  time_it b "$b" copy "$src" "$base/noop-b" --no-progress $b_args
  time_it rsync rsync -aHAX "$src/" "$base/noop-r/"
done
entries=$(find "$src" | wc -l)
printf 'no-op copy of %s entries (%s), best of %s:\n' "$entries" "$tree" "$runs"
printf '  a %-40s %6.3f s\n' "$(basename "$a") $a_args" "${best_of[a]}"
printf '  b %-40s %6.3f s  (b/a %.2fx)\n' "$(basename "$b") $b_args" "${best_of[b]}" "$(echo "${best_of[b]} / ${best_of[a]}" | bc -l)"
printf '  rsync -aHAX %32s %6.3f s\n' "" "${best_of[rsync]}"
rm -rf "$base/noop-a" "$base/noop-b" "$base/noop-r"
