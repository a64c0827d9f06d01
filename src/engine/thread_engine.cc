#include "engine/thread_engine.h"

#include <exception>
#include <thread>

#include <spdlog/spdlog.h>

#include "engine/give_up.h"

namespace lmover {

struct ThreadEngine::Worker {
  std::mutex mutex;
  std::deque<Task> tasks;
};

// The sink a task sees: children go to the deque of the thread that runs it.
class ThreadEngine::Sink : public TaskSink {
 public:
  Sink(ThreadEngine& engine, unsigned index) : engine_(engine), index_(index) {}
  void submit(Task task) override {
    engine_.push(index_, std::move(task));
    engine_.relieve_pressure(index_);
  }

 private:
  ThreadEngine& engine_;
  unsigned index_;
};

namespace {
// Set while a thread runs tasks from inside submit(): those tasks must not recurse into helping.
thread_local bool t_helping = false;
}  // namespace

ThreadEngine::ThreadEngine(unsigned threads, uint64_t max_queued)
    : threads_(threads == 0 ? 1 : threads), max_queued_(max_queued ? max_queued : 64ull * threads_) {
  for (unsigned i = 0; i < threads_; ++i) workers_.push_back(std::make_unique<Worker>());
}

ThreadEngine::~ThreadEngine() = default;

void ThreadEngine::push(unsigned index, Task task) {
  {
    std::lock_guard lock(workers_[index]->mutex);
    workers_[index]->tasks.push_back(std::move(task));
  }
  // Counted before the running parent is uncounted, so outstanding_ cannot touch 0 while a child
  // is queued. A sleeper can miss this notification only in the instant between its failed search
  // and its wait; the bounded wait below covers that.
  std::lock_guard lock(idle_mutex_);
  if (++outstanding_ > peak_outstanding_) peak_outstanding_ = outstanding_;
  idle_cv_.notify_one();
}

void ThreadEngine::relieve_pressure(unsigned index) {
  if (t_helping) return;
  t_helping = true;
  for (;;) {
    {
      std::lock_guard lock(idle_mutex_);
      if (outstanding_ <= max_queued_) break;
    }
    Task task;
    if (!pop_own(index, task)) break;
    execute(index, task);
  }
  t_helping = false;
}

bool ThreadEngine::pop_own(unsigned index, Task& out) {
  Worker& own = *workers_[index];
  std::lock_guard lock(own.mutex);
  if (own.tasks.empty()) return false;
  out = std::move(own.tasks.back());
  own.tasks.pop_back();
  return true;
}

void ThreadEngine::execute(unsigned index, Task& task) {
  Sink sink(*this, index);
  try {
    if (!cancel_) {
      handler_->handle(task, sink);
    } else if (!cancel_->load(std::memory_order_relaxed)) {
      // Cancelled mid-task, the task stops at its next write (a directory of a million entries
      // is one task); what it did not do is left for the next pass, as after a kill.
      GiveUpWhen fence([this] { return !cancel_->load(std::memory_order_relaxed); });
      handler_->handle(task, sink);
    }
  } catch (const TaskGivenUp&) {
    // cancelled: nothing to count
  } catch (const std::exception& e) {
    spdlog::error("task on '{}' failed: {}", task.dir, e.what());
    std::lock_guard lock(idle_mutex_);
    ++handler_failures_;
  }
  std::lock_guard lock(idle_mutex_);
  if (--outstanding_ == 0) idle_cv_.notify_all();
}

bool ThreadEngine::pop_or_steal(unsigned index, Task& out) {
  if (pop_own(index, out)) return true;
  for (unsigned k = 1; k < threads_; ++k) {
    Worker& victim = *workers_[(index + k) % threads_];
    std::lock_guard lock(victim.mutex);
    if (!victim.tasks.empty()) {
      out = std::move(victim.tasks.front());
      victim.tasks.pop_front();
      return true;
    }
  }
  return false;
}

void ThreadEngine::worker_loop(unsigned index) {
  for (;;) {
    Task task;
    if (pop_or_steal(index, task)) {
      execute(index, task);
      continue;
    }
    std::unique_lock lock(idle_mutex_);
    if (outstanding_ == 0) return;
    // Work may be queued without us having seen it yet (pushed before we locked): look again soon.
    idle_cv_.wait_for(lock, std::chrono::milliseconds(5));
  }
}

uint64_t ThreadEngine::run(TaskHandler& handler, Task root, const std::atomic<bool>* cancel) {
  cancel_ = cancel;
  handler_failures_ = 0;
  peak_outstanding_ = 0;
  handler_ = &handler;
  push(0, std::move(root));
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads_; ++i) pool.emplace_back([this, i] { worker_loop(i); });
  for (auto& t : pool) t.join();
  return handler_failures_;
}

}  // namespace lmover
