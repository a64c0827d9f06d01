#include "engine/thread_engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace lmover {
namespace {

// A synthetic tree: directory "d" with depth < kDepth spawns kFanout subdirectories and one batch.
class TreeHandler : public TaskHandler {
 public:
  static constexpr int kDepth = 6, kFanout = 4;
  void handle(const Task& task, TaskSink& sink) override {
    {
      std::lock_guard lock(mutex_);
      EXPECT_TRUE(seen_.insert(task.id).second) << "task ran twice: " << task.dir;
    }
    if (task.kind == TaskKind::kBatch) {
      files_ += static_cast<int>(task.names.size());
      return;
    }
    int depth = task.dir.empty() ? 0 : static_cast<int>(std::count(task.dir.begin(), task.dir.end(), '/')) + 1;
    sink.submit(task.child_batch(task.dir, {"a", "b", "c"}));
    if (depth == kDepth) return;
    for (int i = 0; i < kFanout; ++i) sink.submit(task.child_directory(task.dir.empty() ? std::to_string(i) : task.dir + "/" + std::to_string(i)));
    if (task.dir == "1/2") throw std::runtime_error("handler bug");
  }
  std::mutex mutex_;
  std::set<uint64_t> seen_;
  std::atomic<int> files_{0};
};

int dirs_in_tree() {
  int total = 0, level = 1;
  for (int d = 0; d <= TreeHandler::kDepth; ++d, level *= TreeHandler::kFanout) total += level;
  return total;
}

TEST(ThreadEngine, RunsEveryTaskOnceAndReturnsWhenAllAreDone) {
  for (unsigned threads : {1u, 2u, 8u}) {
    TreeHandler handler;
    ThreadEngine engine(threads);
    uint64_t failures = engine.run(handler, Task::root());
    EXPECT_EQ(failures, 1u);  // the one directory whose handler threw, after spawning its children
    EXPECT_EQ(handler.seen_.size(), size_t(dirs_in_tree() * 2)) << threads << " threads";
    EXPECT_EQ(handler.files_, dirs_in_tree() * 3);
  }
}

TEST(ThreadEngine, CanBeRunAgain) {
  ThreadEngine engine(3);
  TreeHandler first, second;
  engine.run(first, Task::root());
  engine.run(second, Task::root());
  EXPECT_EQ(first.seen_, second.seen_);
}

// One directory with 200k entries, listed by a single task: without back-pressure all 200 batches
// (and their names) would sit in memory before the first is copied.
class HugeDirectory : public TaskHandler {
 public:
  void handle(const Task& task, TaskSink& sink) override {
    if (task.kind == TaskKind::kBatch) {
      done_ += static_cast<int>(task.names.size());
      return;
    }
    std::vector<std::string> batch;
    for (int i = 0; i < 200000; ++i) {
      batch.push_back(std::to_string(i));
      if (batch.size() == kMaxBatch) {
        sink.submit(task.child_batch(task.dir, std::move(batch)));
        batch.clear();
      }
    }
  }
  std::atomic<int> done_{0};
};

TEST(ThreadEngine, BackPressureBoundsQueuedWork) {
  HugeDirectory handler;
  ThreadEngine engine(2, 8);
  engine.run(handler, Task::root());
  EXPECT_EQ(handler.done_, 200000);
  EXPECT_LE(engine.peak_outstanding(), 8u + 2u);  // the bound, plus at most one per thread in flight
}

}  // namespace
}  // namespace lmover

namespace lmover {
namespace {

TEST(ThreadEngine, CancelledRunFinishesTasksInHandAndDropsTheRest) {
  // Cancels from inside the 50th task: that one finishes, later ones are dropped unrun.
  struct Cancelling : TaskHandler {
    std::atomic<bool> cancel{false};
    std::atomic<int> ran{0};
    void handle(const Task& task, TaskSink& sink) override {
      if (++ran == 50) cancel = true;
      for (int i = 0; i < 3 && task.dir.size() < 40; ++i) sink.submit(task.child_directory(task.dir + "/" + std::to_string(i)));
    }
  } handler;
  ThreadEngine engine(4);
  EXPECT_EQ(engine.run(handler, Task::root(), &handler.cancel), 0u);
  EXPECT_GE(handler.ran.load(), 50);
  EXPECT_LT(handler.ran.load(), 60);  // at most the tasks the other threads had in hand
}

}  // namespace
}  // namespace lmover
