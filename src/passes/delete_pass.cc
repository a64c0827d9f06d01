#include "passes/delete_pass.h"

#include <dirent.h>
#include <xxhash.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "engine/give_up.h"
#include "fs/dir_reader.h"
#include "fs/entry_meta.h"
#include "fs/fs_error.h"
#include "fs/remove_tree.h"
#include "fs/resolve.h"
#include "passes/copy_decision.h"
#include "passes/dir_pair.h"

namespace lmover {

bool DeletePass::take_one_deletion() {
  if (ctx_.options().shared_max_delete) return ctx_.options().shared_max_delete();
  const auto& limit = ctx_.options().max_delete;
  return !limit || deletions_.fetch_add(1, std::memory_order_relaxed) < *limit;
}

bool DeletePass::rebalances(const DirPair& dirs, const char* name, const std::string& rel) const {
  // A seeded hash of the path, not a random draw: the same seed picks the same files on every
  // node and every re-run, whatever order the listing comes in.
  uint64_t h = XXH64(rel.data(), rel.size(), ctx_.options().rebalance_seed);
  if (static_cast<double>(h % 1000000) >= ctx_.options().rebalance_percent * 10000) return false;
  auto dst = stat_if_exists(dirs.dst.get(), name, rel);
  auto src = stat_if_exists(dirs.src.get(), name, rel);
  // Only an unchanged copy of a lone regular file: hard-link groups stay whole, and a file that
  // differs is the copy pass's to fix, never a deletion's.
  // Nor one the copy pass's time filters skip: the next copy would never bring it back.
  return src && dst && src->type == EntryType::kRegular && dst->type == EntryType::kRegular && src->nlink == 1 &&
         dst->nlink == 1 && !ctx_.filters().skipped_by_time(*src) && decide_copy(*src, dst) == CopyAction::kNone;
}

void DeletePass::handle(const Task& task, TaskSink& sink) {
  try {
    prune_directory(task, sink);
  } catch (const FsError& e) {
    ctx_.fail_unless_vanished(e);
  }
}

void DeletePass::descend_if_both_directories(const DirPair& dirs, const char* name, std::string rel,
                                             const Task& task, TaskSink& sink) {
  if (task.shallow) return;  // a directory on both sides is reached by its own place if it changed
  if (DirPair::can_hand_on()) {
    // Opening both sides answers "both still directories?" (O_DIRECTORY|O_NOFOLLOW) in the same
    // lookups as two stats, and the child's task gets them open.
    DirPair child_dirs;
    int why = 0;
    child_dirs.dst = open_dir_if_still_one(dirs.dst.get(), name, rel, &why);
    if (!child_dirs.dst.valid()) return;
    child_dirs.src = open_dir_if_still_one(dirs.src.get(), name, rel, &why);
    if (!child_dirs.src.valid()) return;
    Task child = task.child_directory(std::move(rel));
    std::move(child_dirs).hand_on(child);
    return sink.submit(std::move(child));
  }
  auto dst = stat_if_exists(dirs.dst.get(), name, rel);
  auto src = stat_if_exists(dirs.src.get(), name, rel);
  if (dst && src && dst->type == EntryType::kDirectory && src->type == EntryType::kDirectory) {
    sink.submit(task.child_directory(std::move(rel)));
  }
}

void DeletePass::prune_directory(const Task& task, TaskSink& sink) {
  DirPair dirs = DirPair::open(ctx_, task, ctx_.dry_run());
  if (!dirs.dst.valid()) return;  // dry run: the copy would create it, nothing to delete

  // The whole source listing first: a partial listing throws here, before anything is deleted.
  std::unordered_map<std::string, unsigned char> source;  // name -> d_type
  {
    DirReader reader(dirs.src.get(), task.dir);
    DirEntry e;
    while (reader.next(e)) source.emplace(e.name, e.d_type);
  }

  std::vector<std::string> doomed, rebalanced;
  {
    DirReader reader(dirs.dst.get(), task.dir);
    DirEntry e;
    while (reader.next(e)) {
      PassStats::add(ctx_.stats().entries);
      std::string rel = join_rel(task.dir, e.name);
      if (ctx_.filters().excluded(rel)) {
        PassStats::add(ctx_.stats().excluded);
        continue;
      }
      auto twin = source.find(e.name);
      if (twin == source.end()) {
        doomed.emplace_back(e.name);
        continue;
      }
      if (ctx_.options().rebalance_percent > 0 && e.d_type != DT_DIR && twin->second != DT_DIR) {
        try {
          if (rebalances(dirs, e.name, rel)) {
            ctx_.note("rebalance", rel);
            rebalanced.emplace_back(e.name);
            continue;
          }
        } catch (const FsError& err) {
          ctx_.fail_unless_vanished(err);
          continue;
        }
      }
      bool dst_may_be_dir = e.d_type == DT_DIR || e.d_type == DT_UNKNOWN;
      bool src_may_be_dir = twin->second == DT_DIR || twin->second == DT_UNKNOWN;
      if (!dst_may_be_dir || !src_may_be_dir) continue;
      try {
        descend_if_both_directories(dirs, e.name, std::move(rel), task, sink);
      } catch (const FsError& err) {
        ctx_.fail_unless_vanished(err);
      }
    }
  }

  // Removed after the listing: unlinking while reading a directory can make readdir skip entries.
  RemovalBudget budget = [this] {
    give_up_point();  // a tree's removal can be long: a task no longer ours stops between entries
    return take_one_deletion();
  };
  for (const std::string& name : doomed) ctx_.note("delete", join_rel(task.dir, name));
  doomed.insert(doomed.end(), rebalanced.begin(), rebalanced.end());
  for (const std::string& name : doomed) {
    give_up_point();
    std::string rel = join_rel(task.dir, name);
    try {
      if (ctx_.dry_run()) {
        PassStats::add(ctx_.stats().removed);
      } else {
        uint64_t shared = 0;
        PassStats::add(ctx_.stats().removed, remove_entry(dirs.dst.get(), name.c_str(), rel, budget, &shared));
        PassStats::add(ctx_.stats().shared_names_removed, shared);
      }
    } catch (const FsError& e) {
      ctx_.fail(e);
    }
  }
}

// What the target has beyond the source is found by listing both sides of a directory: one level
// where names changed, the whole subtree of a directory new or renamed on the source (the target
// may hold an older one under that name). A changed entry deletes nothing.
std::optional<Task> DeletePass::task_for(const ChangedPlace& place, bool is_dir, const Task& parent) const {
  if (!is_dir) return std::nullopt;
  switch (place.kind) {
    case ChangedPlace::Kind::kListing: return listing_task(parent, place.rel);
    case ChangedPlace::Kind::kSubtree: return subtree_task(parent, place.rel);
    case ChangedPlace::Kind::kEntry:
    case ChangedPlace::Kind::kTimes: return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace lmover
