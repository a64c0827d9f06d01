// DeletePass: removes from the target what is no longer in the source.
//
// Destructive work stops short rather than guess: a target directory is pruned only after its
// source twin was listed completely; when the source directory cannot be opened or listed, nothing
// under it is deleted (the failure is reported). Excluded paths are never deleted. --max-delete
// caps the number of entries removed in the whole pass.
#pragma once

#include <atomic>
#include <cstdint>

#include "engine/task.h"
#include "passes/pass.h"
#include "passes/dir_pair.h"
#include "passes/pass_context.h"

namespace lmover {

class DeletePass : public Pass {
 public:
  explicit DeletePass(const PassContext& ctx) : ctx_(ctx) {}
  void handle(const Task& task, TaskSink& sink) override;
  // Changelog-driven (changed_places.h): see the .cc for what each kind of place becomes.
  std::optional<Task> task_for(const ChangedPlace& place, bool is_dir, const Task& parent) const override;
  bool incremental() const override { return true; }

 private:
  void prune_directory(const Task& task, TaskSink& sink);
  // A name both sides list as a directory: its task is spawned if both still are directories.
  void descend_if_both_directories(const DirPair& dirs, const char* name, std::string rel, const Task& task,
                                   TaskSink& sink);
  bool take_one_deletion();
  // delete --rebalance-percent: whether the target file `name`, listed on both sides, is one of the
  // chosen share and still an unchanged single-link copy of its source (so nothing is lost).
  bool rebalances(const DirPair& dirs, const char* name, const std::string& rel) const;

  const PassContext& ctx_;
  std::atomic<uint64_t> deletions_{0};
};

}  // namespace lmover
