// DirPair: one directory opened on both sides of a pass, by its path relative to the roots and
// without following symlinks. In a dry run the target side may not exist yet.
#pragma once

#include <string_view>

#include "fs/unique_fd.h"
#include "passes/pass_context.h"

namespace lmover {

struct DirPair {
  UniqueFd src;
  UniqueFd dst;  // invalid when the target directory does not exist and that is allowed

  // Throws FsError if a side cannot be opened. With `target_may_be_missing` (a dry run), a target
  // directory that does not exist yet, or is still something else, leaves `dst` invalid.
  static DirPair open(const PassContext& ctx, std::string_view rel, bool target_may_be_missing);
};

}  // namespace lmover
