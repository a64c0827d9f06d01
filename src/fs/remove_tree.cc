#include "fs/remove_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "fs/dir_reader.h"
#include "fs/entry_meta.h"
#include "fs/fs_error.h"
#include "fs/node_ops.h"
#include "fs/resolve.h"

namespace lmover {
namespace {

void take_budget(const RemovalBudget& budget, std::string_view rel) {
  if (budget && !budget()) throw FsError("remove", rel, "deletion limit (--max-delete) reached");
}

uint64_t empty_dir(int dir_fd, std::string_view rel, const RemovalBudget& budget) {
  uint64_t removed = 0;
  // Names are gathered first: unlinking while reading the same directory can skip entries.
  std::vector<std::pair<std::string, bool>> children;
  {
    DirReader reader(dir_fd, rel);
    DirEntry e;
    while (reader.next(e)) children.emplace_back(e.name, e.d_type == DT_DIR || e.d_type == DT_UNKNOWN);
  }
  for (const auto& [name, maybe_dir] : children) {
    std::string child_rel = join_rel(rel, name);
    bool is_dir = maybe_dir;
    if (maybe_dir) {
      auto meta = stat_if_exists(dir_fd, name.c_str(), child_rel);
      if (!meta) continue;
      is_dir = meta->type == EntryType::kDirectory;
    }
    if (is_dir) {
      UniqueFd child;
      try {
        child = open_dir_at(dir_fd, name.c_str(), child_rel);
      } catch (const FsError& e) {
        if (e.err() == ENOENT) continue;  // removed meanwhile (the same task running twice)
        throw;
      }
      removed += empty_dir(child.get(), child_rel, budget);
    }
    take_budget(budget, child_rel);
    if (unlinkat(dir_fd, name.c_str(), is_dir ? AT_REMOVEDIR : 0) < 0 && errno != ENOENT) {
      throw FsError("remove", child_rel, errno);
    }
    ++removed;
  }
  return removed;
}

}  // namespace

uint64_t remove_entry(int dir_fd, const char* name, std::string_view rel, const RemovalBudget& budget) {
  auto meta = stat_if_exists(dir_fd, name, rel);
  if (!meta) return 0;
  uint64_t removed = 0;
  bool is_dir = meta->type == EntryType::kDirectory;
  if (is_dir) {
    UniqueFd child = open_dir_at(dir_fd, name, rel);
    removed += empty_dir(child.get(), rel, budget);
  }
  take_budget(budget, rel);
  if (!is_dir) unsettle_other_names(dir_fd, name, *meta, rel);
  if (unlinkat(dir_fd, name, is_dir ? AT_REMOVEDIR : 0) < 0 && errno != ENOENT) throw FsError("remove", rel, errno);
  return removed + 1;
}

}  // namespace lmover
