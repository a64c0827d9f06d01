#!/usr/bin/env bash
# The final pass from changelogs against the full one: the source behind a FUSE delay layer (a
# round trip per metadata request, as a Lustre client waits for its MDS), the fake liblustreapi of
# the test suite standing in for Lustre's changelog (records written by this script as it changes
# the source; fid2path costing --fid2path-us per call, one RPC), the target on tmpfs.
#
#   LATENCYFS=/path/to/latencyfs bench/changelog.sh [--delay-us 200] [--fid2path-us 700]
#            [--sizes "20000 200000"] [--changes "100 1000"] [--runs 2] [-j 32] [--ops]
#
# For each tree size (files, in directories of 100) and each number of changed entries (a half
# rewritten in place, a quarter created, a quarter removed, spread over the tree): the final sync
# timed and its source requests counted (latencyfs --stats), full (walks both trees) and
# incremental (reads the changelog), alternating, best of --runs, with `sync` before each timing.
# Every timed sync starts from the same kind of change: the changes are made again before each.
# --ops also prints the source requests of the last full and incremental sync by operation (where
# they go), and the last incremental sync's seconds by part (the log read, each pass). LATENCYFS as for bench/latency.sh; needs root, /dev/fuse, and a build with the tests
# (build/tests/liblustreapi.so).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$here/../build}
delay=200 fid2path_us=700 sizes="20000 200000" changes="100 1000" runs=2 jobs=32 ops=
while (($#)); do
  case $1 in
    --delay-us) delay=$2; shift 2 ;;
    --fid2path-us) fid2path_us=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --changes) changes=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    -j) jobs=$2; shift 2 ;;
    --ops) ops=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "${LATENCYFS:-}" ] || { echo "set LATENCYFS to a latency-injecting FUSE passthrough binary" >&2; exit 2; }
fake=$build/tests/liblustreapi.so
[ -e "$fake" ] || { echo "no $fake: build the tests first (scripts/build.sh)" >&2; exit 2; }
base=$(mktemp -d /dev/shm/lmover-changelog.XXXXXX)
cleanup() {
  mountpoint -q "$base/slow" && { fusermount3 -u "$base/slow" 2>/dev/null || umount -l "$base/slow" 2>/dev/null || true; }
  [ -n "${fs_pid:-}" ] && wait "$fs_pid" 2>/dev/null || true
  rm -rf "$base"
}
trap cleanup EXIT

export LMOVER_LUSTREAPI=$fake FAKE_LUSTRE_MOUNT=$base/slow FAKE_LUSTRE_INDEX_ROOT=$base/fs FAKE_LUSTRE_MDTS=2
export FAKE_LUSTRE_CHANGELOG=$base/mds FAKE_LUSTRE_FID2PATH_US=$fid2path_us FAKE_LUSTRE_INDEX_FILE=$base/mds/index

# The MDS's part: TREE, or CHANGE N: changes the backing tree, logs what mdd would log, and keeps
# the FID index fid2path answers from (mds/index), as the MDS keeps its own.
mds() {
  python3 - "$base/fs/data" "$base/mds" "$@" <<'EOF'
import os, random, sys
root, mds, what = sys.argv[1], sys.argv[2], sys.argv[3]
state = os.path.join(mds, "state")
mount = os.path.dirname(root)
index = {}  # path relative to the mount -> inode
if os.path.exists(os.path.join(mds, "index")):
    for line in open(os.path.join(mds, "index")):
        ino, path = line.rstrip("\n").split("\t", 1); index[path] = int(ino)
def indexed(p): index[os.path.relpath(p, mount) if p != mount else ""] = os.lstat(p).st_ino
def unindexed(p): index.pop(os.path.relpath(p, mount), None)
def fid(p):
    st = os.lstat(p)
    return "[%#x:%#x:0x0]" % (0x200000400 + (st.st_ino >> 32), st.st_ino & 0xffffffff)
def hexname(n): return n.encode().hex() or "-"
nxt = [1, 1]
if os.path.exists(state): nxt = [int(x) for x in open(state).read().split()]
logs = [open(os.path.join(mds, "lustre-MDT%04x.log" % i), "a") for i in range(2)]
WRITE_CREATE_TRUNC, READ_WRITE = 0o2 | 0o100 | 0o1000, 0o3
def log(t, tfid, pfid, name="", flags=0):  # flags: a close's open flags, as mdd_close keeps them
    i = random.randrange(2)
    logs[i].write("%d %d %d %s %s %s\n" % (nxt[i], t, flags, tfid, pfid, hexname(name)))
    nxt[i] += 1
if what == "TREE":
    files = int(sys.argv[4]); random.seed(1)
    os.makedirs(root); indexed(mount); indexed(root)
    for d in range((files + 99) // 100):
        dp = os.path.join(root, "d%05d" % d); os.mkdir(dp); indexed(dp); log(2, fid(dp), fid(root), os.path.basename(dp))
        for f in range(min(100, files - d * 100)):
            fp = os.path.join(dp, "f%03d" % f)
            with open(fp, "wb") as out: out.write(os.urandom(random.randint(0, 4096)))
            indexed(fp); log(1, fid(fp), fid(dp), os.path.basename(fp)); log(11, fid(fp), "0", flags=WRITE_CREATE_TRUNC)
else:
    n = int(sys.argv[4]); random.seed(int.from_bytes(os.urandom(4), "little"))
    dirs = sorted(os.listdir(root))
    for k in range(n):
        dp = os.path.join(root, random.choice(dirs)); names = sorted(os.listdir(dp))
        kind = k % 4
        if kind < 2 and names:  # rewritten in place, size and mtime kept
            fp = os.path.join(dp, random.choice(names)); st = os.lstat(fp)
            with open(fp, "r+b") as f: data = f.read(); f.seek(0); f.write(bytes(b ^ 0x5a for b in data))
            os.utime(fp, ns=(st.st_atime_ns, st.st_mtime_ns)); log(11, fid(fp), "0", flags=READ_WRITE); log(14, fid(fp), "0")
        elif kind == 2:  # created
            fp = os.path.join(dp, "new%d_%d" % (os.getpid(), k))
            with open(fp, "wb") as out: out.write(os.urandom(random.randint(0, 4096)))
            indexed(fp); log(1, fid(fp), fid(dp), os.path.basename(fp)); log(11, fid(fp), "0", flags=WRITE_CREATE_TRUNC)
        elif names:  # removed
            fp = os.path.join(dp, random.choice(names)); t = fid(fp); os.unlink(fp); unindexed(fp)
            log(6, t, fid(dp), os.path.basename(fp))
open(state, "w").write("%d %d" % tuple(nxt))
with open(os.path.join(mds, "index"), "w") as out:
    for path, ino in index.items(): out.write("%d\t%s\n" % (ino, path))
EOF
}

declare -A best requests by_op
timed() {  # KEY COMMAND...: best time, and the source requests of the last run
  local key=$1; shift
  sync
  kill -USR1 "$fs_pid"; sleep 0.3
  local t0 t1 s line
  t0=$(date +%s.%N)
  "$@" >"$base/out" 2>&1 || { echo "FAILED: $*" >&2; cat "$base/out" >&2; return 1; }
  t1=$(date +%s.%N)
  kill -USR1 "$fs_pid"; sleep 0.3
  s=$(echo "$t1 - $t0" | bc)
  line=$(tail -1 "$base/stats")
  requests[$key]=${line##*delayed_total=}
  by_op[$key]=$line
  if [ -z "${best[$key]:-}" ] || (($(echo "$s < ${best[$key]}" | bc))); then best[$key]=$s; fi
}

printf '%-9s %-8s %12s %12s %14s %14s %10s %10s\n' files changed "full(s)" "incr(s)" "full req" "incr req" \
  "req/chg" "speedup"
for size in $sizes; do
  mountpoint -q "$base/slow" 2>/dev/null && { fusermount3 -u "$base/slow"; wait "$fs_pid" || true; }
  rm -rf "$base/fs" "$base/mds" "$base/dst" "$base"/.dst.lmover-*
  mkdir -p "$base/fs" "$base/slow" "$base/mds"
  for i in 0 1; do echo "cl1 0" >"$base/mds/lustre-MDT000$i.users"; done
  mds TREE "$size"
  "$LATENCYFS" "$base/fs" "$base/slow" --delay-us "$delay" --stats "$base/stats" -f >"$base/latencyfs.log" 2>&1 &
  fs_pid=$!
  for _ in $(seq 50); do mountpoint -q "$base/slow" && break; sleep 0.1; done
  mountpoint -q "$base/slow" || { echo "latencyfs did not mount" >&2; exit 1; }
  common=(--lustre on --changelog cl1 --no-progress -j "$jobs" "$base/slow/data" "$base/dst")
  "$build/lmover" sync "${common[@]}" >/dev/null 2>&1  # the clone, and the bookmark
  for n in $changes; do
    best=() requests=()
    for ((r = 1; r <= runs; r++)); do
      mds CHANGE "$n"
      timed full "$build/lmover" sync "${common[@]}"
      mds CHANGE "$n"
      timed incr "$build/lmover" sync --incremental --json "$base/incr.json" "${common[@]}"
    done
    "$build/lmover" verify --lustre on --no-progress "$base/slow/data" "$base/dst" >/dev/null 2>&1 ||
      { echo "the clone differs after the incremental sync" >&2; exit 1; }
    printf '%-9s %-8s %12.2f %12.2f %14s %14s %10.1f %9.1fx\n' "$size" "$n" "${best[full]}" "${best[incr]}" \
      "${requests[full]}" "${requests[incr]}" "$(echo "scale=2; ${requests[incr]} / $n" | bc)" \
      "$(echo "scale=2; ${best[full]} / ${best[incr]}" | bc)"
    if [ -n "$ops" ]; then
      echo "  full: ${by_op[full]}"; echo "  incr: ${by_op[incr]}"
      python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("  incr seconds: log read %.3f, " % d["changelog"]["seconds"] + ", ".join("%s %.3f" % (p["pass"], p["seconds"]) for p in d["passes"]))' "$base/incr.json"
    fi
  done
done
echo "source behind a ${delay} us delay layer, fid2path ${fid2path_us} us a call, target on tmpfs, -j $jobs, best of $runs"
