// DirtimePass: sets every target directory's atime and mtime (ns) from its source twin, the root
// included. Run last: creating or removing entries in a directory changes its times. Writes only
// where the times differ, so a re-run on a finished clone changes nothing.
#pragma once

#include "engine/task.h"
#include "passes/pass.h"
#include "passes/pass_context.h"

namespace lmover {

class DirtimePass : public Pass {
 public:
  explicit DirtimePass(const PassContext& ctx) : ctx_(ctx) {}
  void handle(const Task& task, TaskSink& sink) override;
  // Changelog-driven (changed_places.h): see the .cc for what each kind of place becomes.
  std::optional<Task> task_for(const ChangedPlace& place, bool is_dir, const Task& parent) const override;
  bool incremental() const override { return true; }

 private:
  void set_directory_times(const Task& task, TaskSink& sink);

  const PassContext& ctx_;
};

}  // namespace lmover
