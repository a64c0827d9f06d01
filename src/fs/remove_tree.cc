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

// A name of a shared target inode is going: the other names' mtime moves (see the header).
void unsettle_if_shared(int dir_fd, const char* name, const EntryMeta& meta, std::string_view rel, uint64_t* shared_names) {
  if (meta.type == EntryType::kDirectory || meta.nlink < 2) return;
  unsettle_other_names(dir_fd, name, meta, rel);
  if (shared_names) ++*shared_names;
}

uint64_t empty_dir(int dir_fd, std::string_view rel, const RemovalBudget& budget, uint64_t* shared_names) {
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
      removed += empty_dir(child.get(), child_rel, budget, shared_names);
    } else if (shared_names) {
      if (auto meta = stat_if_exists(dir_fd, name.c_str(), child_rel)) unsettle_if_shared(dir_fd, name.c_str(), *meta, child_rel, shared_names);
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

uint64_t remove_entry(int dir_fd, const char* name, std::string_view rel, const RemovalBudget& budget,
                      uint64_t* shared_names) {
  auto meta = stat_if_exists(dir_fd, name, rel);
  if (!meta) return 0;
  uint64_t removed = 0;
  bool is_dir = meta->type == EntryType::kDirectory;
  if (is_dir) {
    UniqueFd child = open_dir_at(dir_fd, name, rel);
    removed += empty_dir(child.get(), rel, budget, shared_names);
  }
  take_budget(budget, rel);
  if (!is_dir) {
    if (shared_names) {
      unsettle_if_shared(dir_fd, name, *meta, rel, shared_names);
    } else {
      unsettle_other_names(dir_fd, name, *meta, rel);
    }
  }
  if (unlinkat(dir_fd, name, is_dir ? AT_REMOVEDIR : 0) < 0 && errno != ENOENT) throw FsError("remove", rel, errno);
  return removed + 1;
}

}  // namespace lmover
