// The lines of --only-from and --exclude-from lists that name nothing. Such a line is silently
// inert otherwise: an --only-from line that selects nothing leaves a failure unrepaired with exit 0,
// and an exclude line that matches nothing (a DOS line end, a trailing blank) protects nothing from
// a delete. Each path is resolved beneath the roots as the walk would reach it: never through a
// symlink, one component at a time.
#pragma once

#include <string>
#include <vector>

#include "passes/filters.h"

namespace lmover {

struct UnmatchedLine {
  std::string path;  // raw bytes, as listed (normalised like the filters)
  std::string why;   // "no such entry", "a component is a symlink", ...
};

// --only-from paths that name no entry of SRC.
std::vector<UnmatchedLine> unmatched_only_paths(const Filters& filters, int src_root);

// Exclude paths that name no entry of SRC nor of DST (`dst_root` -1: not there yet).
std::vector<UnmatchedLine> unmatched_excludes(const Filters& filters, int src_root, int dst_root);

// Whether an unmatched line only misses because of a stray carriage return or trailing blanks:
// the same path without them names an entry on either side. Before a delete that is refused.
bool names_an_entry_once_trimmed(const UnmatchedLine& line, int src_root, int dst_root);

}  // namespace lmover
