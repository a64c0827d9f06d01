// ThreadEngine: runs a pass's tasks on a pool of threads inside one process (the embedded engine).
//
// Each thread keeps its own deque: it pushes the tasks it spawns and pops the newest first, so the
// walk goes depth-first and memory holds only the directories in flight; idle threads steal the
// oldest task of another thread (a directory high in the tree, i.e. a large piece of work).
// run() returns when every task, including every task spawned on the way, has finished.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/task.h"

namespace lmover {

class ThreadEngine {
 public:
  explicit ThreadEngine(unsigned threads);
  ~ThreadEngine();

  // Runs `root` and all its descendants with `handler`. Returns the number of tasks whose handler
  // threw (a handler bug: each is logged and the rest of the pass goes on).
  uint64_t run(TaskHandler& handler, Task root);

 private:
  struct Worker;
  class Sink;

  void worker_loop(unsigned index, TaskHandler& handler);
  void push(unsigned index, Task task);
  bool pop_or_steal(unsigned index, Task& out);

  unsigned threads_;
  std::vector<std::unique_ptr<Worker>> workers_;
  uint64_t outstanding_ = 0;  // queued + running; guarded by idle_mutex_
  std::mutex idle_mutex_;
  std::condition_variable idle_cv_;
  uint64_t handler_failures_ = 0;
};

}  // namespace lmover
