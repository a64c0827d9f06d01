// TaskRunner: what the distributed engine needs from the pass layer, and nothing more. A pass spec
// (opaque JSON made by the CLI: pass kind, roots, options) travels with every task; a worker turns
// it into a runner once and runs tasks with it. The engine never learns what a task does.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/task.h"

namespace lmover {

struct TaskOutcome {
  // This task's non-zero counters only; names are static strings (the pass's counter table).
  std::vector<std::pair<std::string_view, uint64_t>> counters;
  std::vector<std::pair<std::string, std::string>> failures;  // (raw path, message)
  // Hard-linked files whose group the task settled, where the run asks (a changelog-driven copy:
  // PassContext::watch_links): the submitter follows them to their other names.
  std::vector<std::string> linked;
};

class TaskRunner {
 public:
  virtual ~TaskRunner() = default;
  // Runs one task; children go to `sink`. Thread-safe. Must not throw for a failing entry.
  virtual TaskOutcome run(const Task& task, TaskSink& sink) = 0;
  // Threads this run would like on a node (its roots are latency-bound, say); 0: no opinion.
  virtual unsigned wanted_threads() const { return 0; }
};

// Thrown by a RunnerFactory when this node must not take the run's tasks at all: its view of the
// roots differs from the submitter's (a filesystem not mounted here), or a guard of the run fails
// here. The worker hands the tasks back for other nodes and tells the submitter why.
class RunRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Builds the runner for a spec. Throws RunRefused when this node must not run it.
using RunnerFactory = std::function<std::shared_ptr<TaskRunner>(const nlohmann::json& spec)>;

}  // namespace lmover
