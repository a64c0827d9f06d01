// Pass: what every pass is to an engine (a TaskHandler) and to the run that starts it.
#pragma once

#include "engine/task.h"

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
};

}  // namespace lmover
