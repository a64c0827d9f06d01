// The distributed protocol against the in-process broker (memory_broker.h): the real Worker and
// Submitter, a synthetic tree of tasks, and faults placed exactly where the protocol must survive
// them. Each test was checked to fail with a bug planted where it looks (see each comment). The
// same protocol against a real RabbitMQ is tests/distributed*_test.cc.
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "distributed/memory_broker.h"
#include "distributed/submitter.h"
#include "distributed/worker.h"

namespace lmover {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// A tree kFanout wide and kDepth deep: every directory task spawns kFanout directories (above the
// bottom) and one batch of kFiles names. Counts dirs_created and files_copied.
constexpr int kFanout = 4, kDepth = 4, kFiles = 3;
constexpr uint64_t kDirs = 1 + 4 + 16 + 64 + 256, kTasks = 2 * kDirs, kAllFiles = kDirs * kFiles;

class TreeRunner : public TaskRunner {
 public:
  TaskOutcome run(const Task& task, TaskSink& sink) override {
    uint64_t nth = ++runs;
    {
      std::lock_guard lock(mutex);
      if (!seen.insert(task.id).second) ++reruns;
    }
    if (before_run) before_run(task, nth);
    if (task.kind == TaskKind::kBatch) return {{{"files_copied", task.names.size()}}, {}};
    int depth = task.dir.empty() ? 0 : 1 + static_cast<int>(std::count(task.dir.begin(), task.dir.end(), '/'));
    if (depth < kDepth) {
      for (int i = 0; i < kFanout; ++i) {
        sink.submit(task.child_directory((task.dir.empty() ? "" : task.dir + "/") + "d" + std::to_string(i)));
      }
    }
    std::vector<std::string> names;
    for (int i = 0; i < kFiles; ++i) names.push_back("f" + std::to_string(i));
    sink.submit(task.child_batch(task.dir, names));
    return {{{"dirs_created", 1}}, {}};
  }

  std::atomic<uint64_t> runs{0};
  std::atomic<uint64_t> reruns{0};  // a task id run again: a redelivery
  std::function<void(const Task&, uint64_t nth)> before_run;  // nth: this run's place, from 1
  std::mutex mutex;
  std::set<uint64_t> seen;
};

class ProtocolTest : public ::testing::Test {
 protected:
  ~ProtocolTest() override {
    stop_workers_ = true;
    for (auto& t : workers_) t.join();
  }

  void start_workers(unsigned count, unsigned threads) {
    for (unsigned i = 0; i < count; ++i) {
      auto worker = std::make_shared<Worker>(broker_, queues_, threads, [this](const json&) { return runner_; });
      workers_.emplace_back([worker, this] { worker->run(stop_workers_); });
    }
  }

  Submitter submitter(std::atomic<bool>& stop) {
    Submitter s(broker_, queues_, [this](const CounterSet&, size_t) { ++progress_calls_; }, [](const std::string&, const std::string&) {});
    s.retry_for(30s);
    s.stop_when(stop);
    return s;
  }

  // Runs a pass to its end, or gives up (interrupted) after `limit`: a lost task never ends.
  DistributedResult run_pass(std::chrono::seconds limit = 30s, const Submitter::RootChildren& root = {}) {
    std::atomic<bool> stop{false};
    std::thread watchdog([&] {
      for (auto waited = 0ms; waited < limit && !stop; waited += 50ms) std::this_thread::sleep_for(50ms);
      stop = true;
    });
    DistributedResult r = submitter(stop).run({{"pass", "test"}}, root);
    stop = true;
    watchdog.join();
    return r;
  }

  static void expect_exact(const DistributedResult& r) {
    EXPECT_FALSE(r.interrupted) << "the run did not complete: a task was lost";
    EXPECT_EQ(r.tasks, kTasks);
    EXPECT_EQ(r.counters["dirs_created"], kDirs);
    EXPECT_EQ(r.counters["files_copied"], kAllFiles);
  }

  MemoryBroker broker_;
  QueueNames queues_{"t"};
  std::shared_ptr<TreeRunner> runner_ = std::make_shared<TreeRunner>();
  std::atomic<bool> stop_workers_{false};
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> progress_calls_{0};
};

TEST_F(ProtocolTest, EveryTaskRunsAndCountsOnceOnAQuietBroker) {
  start_workers(2, 2);
  DistributedResult r = run_pass();
  expect_exact(r);
  EXPECT_EQ(runner_->reruns, 0u);
  EXPECT_EQ(broker_.ready(queues_.reports(r.run)), std::nullopt) << "the run's queues outlive it";
  EXPECT_EQ(broker_.ready(queues_.dirs()), 0u);
}

// A worker loses its session after its report is confirmed and before its ack: the broker hands
// the delivery out again, the tasks run twice, the submitter hears two reports of each and counts
// one. Planted: the tracker's duplicate check skipped in Submitter::follow -> counts too high.
TEST_F(ProtocolTest, ATaskWhoseAckWasLostRunsAgainAndCountsOnce) {
  std::atomic<int> cut{0};
  std::atomic<std::thread::id> marked{};
  runner_->before_run = [&](const Task& t, uint64_t) {
    if (t.kind == TaskKind::kDirectory && t.dir.size() == 2 && cut < 3) marked = std::this_thread::get_id();
  };
  broker_.on_call([&](const std::string& call, unsigned) {
    if (call == "ack" && marked.load() == std::this_thread::get_id() && cut < 3) {
      ++cut;
      marked = std::thread::id{};
      throw BrokerError("cut off before the ack");
    }
  });
  start_workers(2, 2);
  DistributedResult r = run_pass();
  EXPECT_EQ(cut, 3);
  EXPECT_GT(runner_->reruns, 0u);
  expect_exact(r);
}

// The broker restarts while a worker waits for the confirms of what its task spawned: those
// publishes may be lost, and the task, unacked, must come back. Planted: the worker acks before
// it waits for confirms -> the spawned tasks are lost and the run never completes.
TEST_F(ProtocolTest, ABrokerRestartBeforeTheConfirmsLosesNoTask) {
  std::atomic<bool> restarted{false};
  std::atomic<std::thread::id> marked{};
  runner_->before_run = [&](const Task& t, uint64_t) {
    if (t.kind == TaskKind::kDirectory && t.dir == "d1" && !restarted) marked = std::this_thread::get_id();
  };
  broker_.on_call([&](const std::string& call, unsigned) {
    if (call == "wait_for_confirms" && marked.load() == std::this_thread::get_id() && !restarted.exchange(true)) {
      broker_.restart();
    }
  });
  start_workers(2, 2);
  DistributedResult r = run_pass();
  EXPECT_TRUE(restarted);
  expect_exact(r);
}

// A submitter stops following half-way (as if killed: its connections close, its unacked reports
// and held checkpoint go back); a second one attaches and finishes from the checkpoint and the
// reports that came after it. Planted: reports acked as they are read, before a checkpoint holds
// them -> those after the checkpoint are gone for good and the run never completes.
TEST_F(ProtocolTest, ASecondSubmitterResumesFromTheCheckpointAndTheReportsAfterIt) {
  // A third of the way, the workers hold still long enough for a checkpoint (due 2 s after the
  // last one); two thirds of the way, they hold still again and the submitter stops, well before
  // its next checkpoint, with the reports of a third of the tasks read but not acked.
  std::atomic<int> held_at{0};
  runner_->before_run = [&](const Task&, uint64_t nth) {
    if (nth == kTasks / 3) held_at = 1;
    if (nth == 2 * kTasks / 3) held_at = 2;
    while (held_at) std::this_thread::sleep_for(2ms);
  };
  start_workers(2, 2);
  std::atomic<bool> stop_first{false};
  DistributedResult first;
  std::thread first_part([&] { first = submitter(stop_first).run({{"pass", "test"}}); });
  while (held_at != 1) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(2700ms);
  held_at = 0;
  while (held_at != 2) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(300ms);  // the reports of what ran so far reach the submitter
  stop_first = true;
  first_part.join();
  held_at = 0;
  EXPECT_TRUE(first.interrupted);
  std::string run = first.run;
  std::atomic<bool> stop_second{false};
  std::thread watchdog([&] {
    for (auto waited = 0ms; waited < 30s && !stop_second; waited += 50ms) std::this_thread::sleep_for(50ms);
    stop_second = true;
  });
  DistributedResult second = submitter(stop_second).attach(run);
  stop_second = true;
  watchdog.join();
  expect_exact(second);
}

// The submitter runs the root task itself (a changelog-driven pass: the places are spooled on its
// node): the root's children go out with the run, its report after them, and the run completes
// exactly as if a worker had run the root. Planted: the root's report left out -> the run never
// completes; a child id missing from it -> the tracker counts it as unknown and never finishes.
TEST_F(ProtocolTest, ARootRunByTheSubmitterCompletesExactly) {
  start_workers(2, 2);
  DistributedResult r = run_pass(10s, [](TaskSink& sink) {
    for (int i = 0; i < kFanout; ++i) sink.submit(Task::root().child_directory("d" + std::to_string(i)));
    sink.submit(Task::root().child_batch("", {"f0", "f1", "f2"}));
  });
  EXPECT_FALSE(r.interrupted);
  EXPECT_EQ(r.tasks, kTasks);
  EXPECT_EQ(r.counters["dirs_created"], kDirs - 1) << "the root ran here, not on a worker";
  EXPECT_EQ(r.counters["files_copied"], kAllFiles);
}

// What a changelog-driven pass adds to the messages survives them: a places task with its places,
// a shallow task, and the hard-linked files a task met.
TEST(ProtocolMessages, PlacesShallowTasksAndLinkedFilesTravel) {
  Task places = Task::root().child_places("changed places 0", {"Ef" + std::string("a/\xff\0b", 7), "Ld"});
  Task shallow = Task::root().child_directory("x");
  shallow.shallow = true;
  TaskMessage m{"run1", json{{"pass", "copy"}}, {}, {QueuedTask{places}, QueuedTask{shallow}}};
  TaskMessage back = decode_task(encode(m));
  ASSERT_EQ(back.tasks.size(), 2u);
  EXPECT_EQ(back.tasks[0].task.kind, TaskKind::kPlaces);
  EXPECT_EQ(back.tasks[0].task.names, places.names);
  EXPECT_EQ(back.tasks[0].task.id, places.id);
  EXPECT_TRUE(back.tasks[1].task.shallow);
  EXPECT_FALSE(back.tasks[0].task.shallow);
  EXPECT_EQ(QueueNames{"p"}.for_task(places), "p.dir") << "places expand into tasks: they travel with directories";

  ReportMessage report;
  report.run = "run1";
  TaskResult& done = report.done.emplace_back();
  done.id = 7;
  done.linked = {"d/f", std::string("odd\n\xfe", 6)};
  ReportMessage heard = decode_report(encode(report));
  ASSERT_EQ(heard.done.size(), 1u);
  EXPECT_EQ(heard.done[0].linked, done.linked);
}

}  // namespace
}  // namespace lmover
