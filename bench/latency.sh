#!/usr/bin/env bash
# Latency-bound copies: the source behind a FUSE layer that sleeps before every metadata request,
# as a Lustre client waits for its metadata server. Compares lmover's default concurrency with
# fixed thread counts, first copy and no-op, best of N.
#
#   LATENCYFS=/path/to/latencyfs bench/latency.sh [--delay-us 200] [--runs 2] [--jobs "8 32 128"] [--both]
#                                                 [--shape deep|flat]
#
# --both puts the target behind its own delay layer too (a Lustre-to-Lustre migration); requests
# are then counted on each side.
#
# LATENCYFS is a passthrough FUSE filesystem taking `ROOT MOUNTPOINT --delay-us N -f` (for example
# the latencyfs tool of the migration team's shared material); it is a measuring tool, not part of
# lmover. Needs root and /dev/fuse. The tree, on tmpfs: 20k files of 0-16 KiB, either in 620
# directories two levels deep (deep, the default) or in 400 directories of 50 under the root (flat).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$here/../build}
delay=200 runs=2 jobs="8 32 128" both=0 shape=deep
while (($#)); do
  case $1 in
    --delay-us) delay=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --both) both=1; shift ;;
    --shape) shape=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "${LATENCYFS:-}" ] || { echo "set LATENCYFS to a latency-injecting FUSE passthrough binary" >&2; exit 2; }
base=$(mktemp -d /dev/shm/lmover-latency.XXXXXX)
mkdir -p "$base/src" "$base/slow" "$base/dstroot" "$base/slowdst"
cleanup() {
  for m in "$base/slow" "$base/slowdst"; do
    mountpoint -q "$m" && { fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; }
  done
  [ -n "${fs_pid:-}" ] && wait "$fs_pid" 2>/dev/null || true
  [ -n "${dst_fs_pid:-}" ] && wait "$dst_fs_pid" 2>/dev/null || true
  rm -rf "$base"
}
trap cleanup EXIT

case $shape in deep|flat) ;; *) echo "unknown shape $shape (deep or flat)" >&2; exit 2 ;; esac
# deep: 620 directories (20 x 30 + 20); flat: 400 x 50. 20k files of 0-16 KiB.
python3 - "$base/src" "$shape" <<'EOF'
import os, random, sys
random.seed(7)
root = sys.argv[1]
if sys.argv[2] == "flat":
    for d in range(400):
        os.makedirs(os.path.join(root, "d%03d" % d))
        for f in range(50):
            with open(os.path.join(root, "d%03d" % d, "f%02d" % f), "wb") as out:
                out.write(os.urandom(random.randint(0, 16384)))
    sys.exit(0)
n = 0
for t in range(20):
    for s in range(31):
        d = os.path.join(root, "t%02d" % t, "s%02d" % s) if s < 30 else os.path.join(root, "t%02d" % t)
        os.makedirs(d, exist_ok=True)
        for f in range(32 if s < 30 else 20):
            if n >= 20000: break
            with open(os.path.join(d, "f%03d" % f), "wb") as out:
                out.write(os.urandom(random.randint(0, 16384)))
            n += 1
EOF
"$LATENCYFS" "$base/src" "$base/slow" --delay-us "$delay" --stats "$base/stats" -f >"$base/latencyfs.log" 2>&1 &
fs_pid=$!
for _ in $(seq 50); do mountpoint -q "$base/slow" && break; sleep 0.1; done
mountpoint -q "$base/slow" || { echo "latencyfs did not mount" >&2; cat "$base/latencyfs.log" >&2; exit 1; }
dst="$base/dst"
if ((both)); then
  "$LATENCYFS" "$base/dstroot" "$base/slowdst" --delay-us "$delay" --stats "$base/dst-stats" -f >"$base/latencyfs-dst.log" 2>&1 &
  dst_fs_pid=$!
  for _ in $(seq 50); do mountpoint -q "$base/slowdst" && break; sleep 0.1; done
  mountpoint -q "$base/slowdst" || { echo "latencyfs (target) did not mount" >&2; exit 1; }
  dst="$base/slowdst/dst"
fi

declare -A best
timed() {  # KEY COMMAND...
  local key=$1; shift
  sync
  local t0 t1 s
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; return 1; }
  t1=$(date +%s.%N)
  s=$(echo "$t1 - $t0" | bc)
  if [ -z "${best[$key]:-}" ] || (($(echo "$s < ${best[$key]}" | bc))); then best[$key]=$s; fi
}
variants=(default $jobs)
for ((r = 1; r <= runs; r++)); do
  for v in "${variants[@]}"; do
    args=()
    [ "$v" != default ] && args=(-j "$v")
    rm -rf "$dst"
    timed "$v/first" "$build/lmover" copy --no-progress "${args[@]}" "$base/slow" "$dst"
    timed "$v/noop" "$build/lmover" copy --no-progress "${args[@]}" "$base/slow" "$dst"
  done
  for j in $jobs; do  # the C floor at the same thread counts (no xattrs, no checks, no hard links)
    rm -rf "$dst"
    timed "floor-$j/first" "$build/floor" copy "$base/slow" "$dst" "$j" meta
    timed "floor-$j/noop" "$build/floor" stat "$base/slow" "$dst" "$j"
  done
done
# Requests per entry, as the delay layer counts them (SIGUSR1 appends the counts and resets them).
entries=$(find "$base/src" | wc -l)
counted() {  # LABEL COMMAND...: the requests COMMAND made, per source entry, and by operation
  local label=$1; shift
  kill -USR1 "$fs_pid"; ((both)) && kill -USR1 "$dst_fs_pid"; sleep 0.3
  "$@" >/dev/null 2>&1 || true
  kill -USR1 "$fs_pid"; ((both)) && kill -USR1 "$dst_fs_pid"; sleep 0.3
  local side stats line total
  for side in src dst; do
    stats="$base/stats"
    if [ $side = dst ]; then ((both)) || continue; stats="$base/dst-stats"; fi
    line=$(tail -1 "$stats")
    total=${line##*delayed_total=}
    printf '%-16s %s %6.2f requests/entry  (%s)\n' "$label" "$side" "$(echo "scale=2; $total / $entries" | bc)" "${line% delayed_total=*}"
  done
}
echo
rm -rf "$dst"
counts=$(counted "lmover first" "$build/lmover" copy --no-progress "$base/slow" "$dst")
counts+=$'\n'$(counted "lmover no-op" "$build/lmover" copy --no-progress "$base/slow" "$dst")
rm -rf "$dst"
counts+=$'\n'$(counted "floor first" "$build/floor" copy "$base/slow" "$dst" 32 meta)
counts+=$'\n'$(counted "floor no-op" "$build/floor" stat "$base/slow" "$dst" 32)

chosen=$("$build/lmover" copy -v --no-progress -n "$base/slow" "$dst" 2>&1 | grep -m1 -o "concurrency: .*" || true)
echo
where="source behind a ${delay} us delay layer, target on tmpfs"
((both)) && where="source and target each behind a ${delay} us delay layer"
echo "$where, 20k files ($shape), best of $runs; default: ${chosen:-?}"
printf '%-10s %10s %10s\n' threads "first(s)" "noop(s)"
for v in "${variants[@]}"; do printf '%-10s %10.2f %10.2f\n' "$v" "${best[$v/first]}" "${best[$v/noop]}"; done
for j in $jobs; do printf '%-10s %10.2f %10.2f\n' "floor-$j" "${best[floor-$j/first]}" "${best[floor-$j/noop]}"; done
echo
echo "requests per entry ($entries entries):"
echo "$counts"
