#!/usr/bin/env bash
# Benchmarks lmover against the floor (bench/floor.c), tar|tar, cp -a, rsync -a and fpsync on the
# same deterministic trees, side by side, and prints times, ratios to the floor and peak RSS.
#
#   bench/run.sh [--where tmpfs|disk|DIR] [--tree small|empty|big|big4|big1|dirs30k|dirs300k|dirs1m] [--runs N]
#                [--threads T] [--tools "lmover floor tar cp rsync fpsync dcp lmover-rmq"]
#
# big4 (four 1 GiB files) and big1 (one 4 GiB file) are the big-file trees: lmover copies their
# files in chunks (default threshold 1G). dcp is mpifileutils' (mpirun -np T dcp), run only where
# it is installed. The /cp column is each tool's first copy against cp -a's.
#
# lmover-rmq is lmover over RabbitMQ with T workers of one thread each, on this node: it uses
# $LMOVER_TEST_BROKER if set, else starts a throwaway broker (tests/services.sh) for the run.
#
# Per round, the tools run in a rotated order; each timing is preceded by `sync` (and, on disk, by
# dropping the page cache); the best of N rounds is kept. Phases: first copy, no-op re-run, re-run
# after 1% of the files changed. Trees are generated once and kept in the bench directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$here/../build}
where=tmpfs tree=small runs=3 threads=2 tools="lmover floor tar cp rsync fpsync"
while (($#)); do
  case $1 in
    --where) where=$2; shift 2 ;;
    --tree) tree=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --tools) tools=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
case $where in
  tmpfs) base=/dev/shm/lmover-bench ;;
  disk) base=/var/tmp/lmover-bench ;;
  *) base=$where ;;
esac
for b in lmover floor make_tree; do [ -x "$build/$b" ] || { echo "build $b first (scripts/build.sh)" >&2; exit 2; }; done
mkdir -p "$base"
src=$base/src-$tree dst=$base/dst
if [ ! -e "$src/.complete" ]; then
  rm -rf "$src"
  echo "generating $tree tree in $src ..." >&2
  "$build/make_tree" "$tree" "$src"
  touch "$src/.complete"
fi
entries=$(find "$src" | wc -l)
bytes=$(du -sb "$src" | cut -f1)

if [[ " $tools " == *" dcp "* ]] && ! command -v dcp >/dev/null; then
  echo "dcp (mpifileutils) is not installed here: left out" >&2
  tools=$(echo " $tools " | sed 's/ dcp / /')
fi

rmq_workers=()
cleanup() {
  for pid in "${rmq_workers[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${rmq_workers[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "${bench_services:-}" ]; then services_stop; fi
}
trap cleanup EXIT
if [[ " $tools " == *" lmover-rmq "* ]]; then
  if [ -z "${LMOVER_TEST_BROKER:-}" ]; then
    SERVICES_BASE=27300
    . "$here/../tests/services.sh"
    services_start >&2
    bench_services=1
  fi
  for ((w = 0; w < threads; w++)); do
    "$build/lmover" worker --broker "$LMOVER_TEST_BROKER" --prefix bench -j "${worker_threads:-1}" >"$base/worker$w.log" 2>&1 &
    rmq_workers+=($!)
  done
fi

settle() { sync; if [ "$where" = disk ]; then echo 3 >/proc/sys/vm/drop_caches; fi; }

# timed NAME PHASE COMMAND...: runs COMMAND, keeps the best wall time and the peak RSS.
declare -A best rss
timed() {
  local key="$1/$2"; shift 2
  settle
  local t0 t1 out
  out=$(mktemp)
  t0=$(date +%s.%N)
  /usr/bin/time -f %M -o "$out.rss" bash -c "$*" >"$out" 2>&1 || { echo "FAILED: $*" >&2; tail -5 "$out" >&2; }
  grep -h "messages/s" "$out" >&2 || true
  t1=$(date +%s.%N)
  local s; s=$(echo "$t1 - $t0" | bc)
  if [ -z "${best[$key]:-}" ] || (($(echo "$s < ${best[$key]}" | bc))); then best[$key]=$s; fi
  local kb; kb=$(tail -1 "$out.rss")
  if [ -z "${rss[$key]:-}" ] || ((kb > ${rss[$key]})); then rss[$key]=$kb; fi
  rm -f "$out" "$out.rss"
}

q() { printf '%q' "$1"; }
first_copy() {
  case $1 in
    lmover) echo "$(q "$build/lmover") copy --no-progress -j $threads $(q "$src") $(q "$dst")" ;;
    lmover-rmq) echo "$(q "$build/lmover") copy --no-progress --broker $(q "$LMOVER_TEST_BROKER") --prefix bench $(q "$src") $(q "$dst")" ;;
    floor) echo "$(q "$build/floor") copy $(q "$src") $(q "$dst") $threads meta" ;;
    tar) echo "mkdir -p $(q "$dst") && tar -C $(q "$src") -cf - . | tar -C $(q "$dst") -xpf -" ;;
    cp) echo "cp -a $(q "$src") $(q "$dst")" ;;
    rsync) echo "rsync -a $(q "$src/") $(q "$dst/")" ;;
    dcp) echo "mpirun --allow-run-as-root -np $threads dcp --quiet $(q "$src") $(q "$dst")" ;;
    fpsync) echo "mkdir -p $(q "$dst") && fpsync -n $threads $(q "$src/") $(q "$dst/")" ;;  # its default: rsync -lptgoD --numeric-ids
  esac
}
rerun() {
  case $1 in
    lmover | lmover-rmq | rsync | fpsync) first_copy "$1" ;;
    floor) echo "$(q "$build/floor") stat $(q "$src") $(q "$dst") $threads" ;;
    *) echo "" ;;
  esac
}

round_stamp=2000000000
for ((round = 1; round <= runs; round++)); do
  read -ra order <<<"$tools"
  shift_by=$(((round - 1) % ${#order[@]}))
  order=("${order[@]:shift_by}" "${order[@]:0:shift_by}")
  for tool in "${order[@]}"; do
    rm -rf "$dst"
    timed "$tool" first "$(first_copy "$tool")"
    cmd=$(rerun "$tool")
    if [ -n "$cmd" ]; then
      timed "$tool" noop "$cmd"
      if [ "$tool" != floor ] && [[ "$tree" != big* ]] && [[ "$tree" != dirs* ]]; then
        round_stamp=$((round_stamp + 10))
        "$build/make_tree" touch "$src" "$round_stamp"
        timed "$tool" changed "$cmd"
      fi
    fi
    echo "round $round: $tool done" >&2
  done
done
rm -rf "$dst"
for pid in "${rmq_workers[@]}"; do
  echo "lmover-rmq worker $pid peak RSS: $(awk '/VmHWM/ {print int($2 / 1024) "MB"}' "/proc/$pid/status")" >&2
done

ratio() { [ -n "${1:-}" ] && [ -n "${2:-}" ] && echo "scale=2; $1 / $2" | bc | sed 's/^\./0./' || echo "-"; }
fmt() { [ -n "${1:-}" ] && printf '%.2f' "$1" || echo "-"; }
echo
echo "tree=$tree ($entries entries, $((bytes / 1048576)) MiB) on $where ($base), threads=$threads, best of $runs"
printf '%-8s %10s %8s %8s %10s %8s %12s %10s\n' tool "first(s)" "/floor" "/cp" "noop(s)" "/floor" "1%chg(s)" "peakRSS"
for tool in $tools; do
  f=${best[$tool/first]:-} n=${best[$tool/noop]:-} c=${best[$tool/changed]:-}
  r=${rss[$tool/first]:-0}
  for p in noop changed; do [ "${rss[$tool/$p]:-0}" -gt "$r" ] && r=${rss[$tool/$p]}; done
  printf '%-8s %10s %8s %8s %10s %8s %12s %8sMB\n' "$tool" "$(fmt "$f")" "$(ratio "$f" "${best[floor/first]:-}")" \
    "$(ratio "$f" "${best[cp/first]:-}")" \
    "$(fmt "$n")" "$(ratio "$n" "${best[floor/noop]:-}")" "$(fmt "$c")" "$((r / 1024))"
done
