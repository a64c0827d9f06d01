#!/bin/bash
# Writes lmover.1.gz: help2man's page from `lmover --help` and `--version`, with every verb's own
# --help as a section of its own, so `man lmover` holds every option of every verb and can never
# drift from the binary. Run by the build (CMakeLists.txt, target `man`).
#   make_man.sh BUILD_DIR_WITH_LMOVER HELP2MAN OUT.gz
set -euo pipefail
bindir=$1 help2man=$2 out=$3
export PATH="$bindir:$PATH"  # so that usage lines say `lmover`, not the build path
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# roff: a backslash is \e, a line starting with . or ' is protected by \&.
roff() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"; }
verbs_of() { lmover "$@" --help | awk '/^Subcommands:/ {on = 1; next} on && /^  [a-z]/ {print $1}'; }

{
  echo "[VERBS]"
  for verb in $(verbs_of); do
    subs=$(verbs_of "$verb")
    for sub in ${subs:-""}; do
      name="lmover $verb${sub:+ $sub}"
      echo ".SS \"$name\""
      echo ".nf"
      lmover $verb $sub --help | sed '/^Usage:/,$!d' | roff
      echo ".fi"
    done
  done
  cat <<'ROFF'
[EXIT STATUS]
.TP
.B 0
the pass (or every pass) completed and nothing failed
.TP
.B 1
some entries failed (listed with \-\-failures FILE), verify found differences, or \-\-max\-delete or \-\-max\-errors stopped a pass
.TP
.B 2
nothing could be done: bad options, a missing or unmounted root, a broker that refuses the login
.TP
.B 130, 143
interrupted by SIGINT or SIGTERM; a distributed run goes on and \fBlmover wait \-\-run ID\fR re\-attaches
[FILES]
.TP
.I /etc/lmover/NAME.toml
a migration's settings (\-\-config, or $LMOVER_CONFIG); mode 600 when it holds the broker password
.TP
.I /etc/lmover/NAME.env
LMOVER_MOUNTS for the lmover\-worker@NAME unit: the mounts the worker needs
.TP
.I .DST.lmover\-lock
beside the target: which run writes it
[ENVIRONMENT]
.TP
.B LMOVER_CONFIG
the config file when \-\-config is not given
.TP
.B LMOVER_BROKER_PASSWORD
the broker password, when no password file is given
.TP
.B JOURNAL_STREAM
set by systemd: the log goes to the journal, each line with its priority
[SEE ALSO]
.BR rsync (1),
.BR lfs (1),
.BR systemd.exec (5)
ROFF
} >"$work/verbs.h2m"

"$help2man" --no-info --no-discard-stderr --section 1 \
  --name "clone large POSIX and Lustre trees in passes (copy, delete, dirtime)" \
  --include "$work/verbs.h2m" --output "$work/lmover.1" lmover
gzip -9n <"$work/lmover.1" >"$out"
