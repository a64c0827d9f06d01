// Roots: SRC and DST as given by the user, validated and opened once. Everything inside the trees
// is then reached from these two fds.
#pragma once

#include <string>

#include "fs/unique_fd.h"

namespace lmover {

struct RootCheck {
  bool create_dst = false;          // make DST (its parent must exist) when it is missing
  bool dst_may_be_missing = false;  // a dry run: leave `dst` invalid instead of creating it
  bool refuse_empty_source = false; // delete/sync: an empty SRC beside a non-empty DST is refused
  bool dst_written = false;         // a pass that writes: DST on a read-only mount is refused up front
};

struct Roots {
  std::string src_path, dst_path;
  UniqueFd src, dst;
};

// Throws FsError with a clear reason: SRC missing or not a directory, DST not a directory, the
// same directory, one inside the other (checked by inode, so bind mounts and symlinks do not fool
// it), or an empty SRC before a delete (an unmounted filesystem looks exactly like that).
Roots open_roots(const std::string& src, const std::string& dst, const RootCheck& check);

// The guards that hold wherever a run's tasks execute (the submitter and every worker node): the
// roots are not the same directory nor one inside the other and, with `refuse_empty_source`, SRC
// is not empty beside a non-empty DST. Throws FsError naming the root and the reason.
void check_root_pair(const Roots& roots, bool refuse_empty_source);

}  // namespace lmover
