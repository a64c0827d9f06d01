// ThreadEngine: runs a pass's tasks on a pool of threads inside one process (the embedded engine).
//
// Each thread keeps its own deque: it pushes the tasks it spawns and pops the newest first, so the
// walk goes depth-first and memory holds only the directories in flight; idle threads steal the
// oldest task of another thread (a directory high in the tree, i.e. a large piece of work).
// Back-pressure: when more than `max_queued` tasks wait, a thread that submits one runs queued
// tasks itself before it goes on (listing a huge directory turns into copying it), so memory
// stays bounded whatever the shape of the tree.
// run() returns when every task, including every task spawned on the way, has finished.
#pragma once

#include <atomic>
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
  explicit ThreadEngine(unsigned threads, uint64_t max_queued = 0);  // 0: 64 per thread
  ~ThreadEngine();

  // Runs `root` and all its descendants with `handler`. Returns the number of tasks whose handler
  // threw (a handler bug: each is logged and the rest of the pass goes on). Once `cancel` becomes
  // true, tasks in hand stop at their next give_up_point() (engine/give_up.h) and every other task
  // is dropped unrun: run() returns soon after.
  uint64_t run(TaskHandler& handler, Task root, const std::atomic<bool>* cancel = nullptr);

  // The most tasks ever outstanding (queued or running) during the last run().
  uint64_t peak_outstanding() const { return peak_outstanding_; }

 private:
  struct Worker;
  class Sink;

  void worker_loop(unsigned index);
  void push(unsigned index, Task task);
  bool pop_own(unsigned index, Task& out);
  bool pop_or_steal(unsigned index, Task& out);
  void execute(unsigned index, Task& task);
  void relieve_pressure(unsigned index);

  unsigned threads_;
  uint64_t max_queued_;
  TaskHandler* handler_ = nullptr;
  const std::atomic<bool>* cancel_ = nullptr;
  std::vector<std::unique_ptr<Worker>> workers_;
  uint64_t outstanding_ = 0;  // queued + running; guarded by idle_mutex_
  std::mutex idle_mutex_;
  std::condition_variable idle_cv_;
  uint64_t handler_failures_ = 0;
  uint64_t peak_outstanding_ = 0;
};

}  // namespace lmover
