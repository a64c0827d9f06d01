#include "passes/dir_pair.h"

#include <cerrno>

#include "fs/fs_error.h"
#include "fs/resolve.h"

namespace lmover {

DirPair DirPair::open(const PassContext& ctx, std::string_view rel, bool target_may_be_missing) {
  DirPair pair;
  pair.src = open_dir_beneath(ctx.src_root(), rel);
  if (ctx.dst_root() < 0 && target_may_be_missing) return pair;  // dry run onto a DST not made yet
  try {
    pair.dst = open_dir_beneath(ctx.dst_root(), rel);
  } catch (const FsError& e) {
    if (!(target_may_be_missing && (e.err() == ENOENT || e.err() == ENOTDIR))) throw;
  }
  return pair;
}

}  // namespace lmover
