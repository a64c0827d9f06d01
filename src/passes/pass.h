// Pass: what every pass is to an engine (a TaskHandler) and to the run that starts it.
#pragma once

#include <optional>

#include "engine/task.h"
#include "lustre/changes.h"

namespace lmover {

// A pass as an engine runs it: the per-task handler, and what happens once around all of a run's
// tasks, on the node that starts the run (the submitter, in a distributed one; never on workers).
class Pass : public TaskHandler {
 public:
  // Before the first task.
  virtual void prepare() {}
  // After the last task has ended: in a distributed run only once the run is complete (an
  // interrupted one's tasks go on on the workers).
  virtual void finish() {}
  // A changelog-driven run (changed_places.h): the task, a child of `parent`, that visits `place`
  // (`is_dir`: the source entry is a directory now), or nullopt when this pass has nothing to do
  // there. A pass that cannot run that way says so in `incremental()`.
  virtual std::optional<Task> task_for(const ChangedPlace& place, bool is_dir, const Task& parent) const {
    (void)place, (void)is_dir, (void)parent;
    return std::nullopt;
  }
  virtual bool incremental() const { return false; }
};

// The usual tasks of a changelog-driven pass: a directory's own entries (shallow), an entry by its
// parent and name (shallow: a directory is settled, not walked; or walked whole), a whole subtree.
Task listing_task(const Task& parent, const std::string& rel);
Task entry_task(const Task& parent, const std::string& rel, bool walk_if_directory);
Task subtree_task(const Task& parent, const std::string& rel);

}  // namespace lmover
