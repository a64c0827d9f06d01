#!/bin/bash
# The Debian package as an admin gets it: built by CPack from this build tree, installed with
# apt-get, then used from /usr/bin: its version, a copy checked by rsync, the man page, the bash
# completion, the units naming the installed binary. Removed again at the end.
#   package_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
if dpkg-query -W -f='${Status}' lmover 2>/dev/null | grep -q "ok installed"; then
  echo "SKIP: a lmover package is installed here already; not the test's to replace"
  exit 77
fi
work=$(mktemp -d)
cleanup() {
  dpkg -r lmover >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" >cpack.log) || { cat "$work/cpack.log"; fail "cpack"; }
deb=$(ls "$work"/lmover_*.deb)
echo "built $(basename "$deb")"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in librabbitmq libmemcached libspdlog libfmt libxxhash libsystemd libstdc++; do
  [[ $depends == *"$lib"* ]] || fail "the package does not depend on $lib"
done

DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$deb" >"$work/apt.log" 2>&1 ||
  { cat "$work/apt.log"; fail "apt-get install $deb"; }

# The version, as the build says it.
[ "$(/usr/bin/lmover --version)" = "$("$build/lmover" --version)" ] || fail "/usr/bin/lmover --version: $(/usr/bin/lmover --version)"
[ "$(/usr/bin/lmover version)" = "$(/usr/bin/lmover --version)" ] || fail "lmover version"

# A copy from the installed binary, checked by rsync (an oracle of its own): nothing left to change.
src=$work/src
mkdir -p "$src/d/e"
printf 'hello\n' >"$src/d/a"
head -c 1000000 /dev/urandom >"$src/d/e/big"
ln "$src/d/a" "$src/d/e/hard"
ln -s ../a "$src/d/e/link"
setfattr -n user.note -v kept "$src/d/a"
touch -d '2001-02-03 04:05:06.123456789' "$src/d/e/big" "$src/d/e" "$src/d"
/usr/bin/lmover sync "$src" "$work/dst" >"$work/copy.log" 2>&1 || { cat "$work/copy.log"; fail "lmover sync from /usr/bin"; }
changes=$(rsync -aHAXn --itemize-changes "$src/" "$work/dst/")
[ -z "$changes" ] || fail "rsync finds differences after the installed lmover's sync: $changes"

# The man page holds every verb's options.
man_page=$(man -w lmover) || fail "man -w lmover"
man_text=$(zcat "$man_page")
[[ $man_text == *'.SS "lmover copy"'* ]] || fail "the man page has no 'lmover copy' section"
[[ $man_text == *'max\-errors'* ]] || fail "the man page lacks --max-errors"

# bash completion: verbs, then a verb's options.
complete_words() {
  bash -c '. /usr/share/bash-completion/bash_completion
           . /usr/share/bash-completion/completions/lmover
           COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
           _lmover; echo "${COMPREPLY[*]}"' _ "$@"
}
[ "$(complete_words lmover sy)" = "sync" ] || fail "completion of 'lmover sy': $(complete_words lmover sy)"
[[ " $(complete_words lmover sync --max-) " == *" --max-errors "* ]] || fail "completion of 'lmover sync --max-'"
[[ " $(complete_words lmover sync --max-) " == *" --max-delete "* ]] || fail "completion of 'lmover sync --max-'"

# The units run the installed binary; the examples and dashboards are where the docs say.
unit=/usr/lib/systemd/system/lmover-worker@.service
grep -q '^ExecStart=/usr/bin/lmover worker --config /etc/lmover/%i.toml$' "$unit" || fail "$unit: $(grep ExecStart= "$unit")"
grep -q '^ExecStart=/usr/bin/lmover stats graphite' /usr/lib/systemd/system/lmover-stats-graphite@.service ||
  fail "the stats unit does not run /usr/bin/lmover"
for f in /usr/share/doc/lmover/examples/proj1.toml /usr/share/doc/lmover/examples/proj1.env \
  /usr/share/doc/lmover/examples/lmover-workers.sbatch /usr/share/lmover/grafana/lmover-graphite.json \
  /usr/share/lmover/grafana/lmover-prometheus.json; do
  [ -s "$f" ] || fail "$f is missing"
done
if command -v systemd-analyze >/dev/null; then
  mkdir "$work/units"
  cp "$unit" "$work/units/lmover-worker@proj1.service"
  cp /usr/lib/systemd/system/lmover-stats-graphite@.service "$work/units/lmover-stats-graphite@proj1.service"
  out=$(systemd-analyze verify "$work/units/lmover-worker@proj1.service" "$work/units/lmover-stats-graphite@proj1.service" 2>&1 |
    grep lmover | grep -v -e '/etc/lmover' || true)  # other units on the machine are not ours to judge
  [ -z "$out" ] || fail "systemd-analyze verify: $out"
fi
echo "package ok: $(basename "$deb"), installed, used and removed"
