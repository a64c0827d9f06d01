// Giving a task up half-way. A distributed worker may run a task only while the broker still
// counts the task as its own: once the worker's connection is lost (the broker restarted, the
// link was cut, the process was stopped), the broker hands the task to another worker, and a copy
// that went on here would write the target beside that one, or after the run was declared
// complete (a staging area re-created after its removal, an entry made after dirtime). So the
// engine that runs a task may install a test of whether it is still its own, and the passes
// call give_up_point() before each write: a task no longer ours stops there.
//
// The embedded engine installs none: give_up_point() then never throws.
#pragma once

#include <functional>

namespace lmover {

// Thrown by give_up_point(). Deliberately not a std::exception: no handler of entry failures may
// take it for one; only the engine that installed the test catches it.
struct TaskGivenUp {};

// While alive, give_up_point() on this thread throws TaskGivenUp once `still_ours` returns false.
class GiveUpWhen {
 public:
  explicit GiveUpWhen(std::function<bool()> still_ours);
  ~GiveUpWhen();
  GiveUpWhen(const GiveUpWhen&) = delete;
  GiveUpWhen& operator=(const GiveUpWhen&) = delete;

 private:
  std::function<bool()> still_ours_;
  const std::function<bool()>* outer_;
};

void give_up_point();

}  // namespace lmover
