#include "distributed/run_state.h"

#include <gtest/gtest.h>

namespace lmover {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// A report of `task` (child of the root unless it is the root) with `files` counted and children.
std::string report_of(const Task& task, bool is_root, uint64_t files, const std::vector<Task>& children) {
  ReportMessage r;
  r.run = "r1";
  r.node = "n1";
  TaskResult& t = r.done.emplace_back();
  t.id = task.id;
  t.up = is_root ? LineageTable::kTop : r.lineage.add(LineageTable::kTop, Task::root().id);
  for (const Task& c : children) t.children.push_back(c.id);
  r.set_counters(t, {{"files_copied", files}});
  return encode(r);
}

TEST(RunState, ATaskReportedTwiceCountsOnceAndTheRunCompletes) {
  RunState state(RunState::first_checkpoint("r1", {{"pass", "copy"}}));
  Task root = Task::root(), a = root.child_directory("a"), b = root.child_directory("b");
  std::vector<std::string> failed;
  auto failures = [&](const std::string& path, const std::string&) { failed.push_back(path); };
  std::map<std::string, uint64_t> per_node;
  auto node_counts = [&](const std::string& node, const std::string& key, uint64_t v) { per_node[node + "/" + key] += v; };
  state.hear(report_of(root, true, 1, {a, b}), failures, node_counts);
  state.hear(report_of(a, false, 10, {}), failures, node_counts);
  state.hear(report_of(a, false, 10, {}), failures, node_counts);  // redelivered, ran again
  EXPECT_FALSE(state.complete());
  EXPECT_EQ(state.pending(), 1u);
  state.hear(report_of(b, false, 100, {}), failures, node_counts);
  EXPECT_TRUE(state.complete());
  EXPECT_EQ(state.result().counters["files_copied"], 111);
  EXPECT_EQ(per_node["n1/files_copied"], 111u);
  EXPECT_EQ(state.result().tasks, 3u);
}

TEST(RunState, ACheckpointRestoresWhatWasHeard) {
  RunState state(RunState::first_checkpoint("r1", {{"pass", "copy"}}));
  Task root = Task::root(), a = root.child_directory("a");
  state.hear(report_of(root, true, 5, {a}), nullptr, nullptr);
  ReportMessage refusal;
  refusal.run = "r1";
  refusal.refused_by = "n2:7";
  refusal.reason = "not mounted";
  state.hear(encode(refusal), nullptr, nullptr);
  state.hear("not a report", nullptr, nullptr);
  Checkpoint cp = state.checkpoint();
  EXPECT_EQ(cp.header.at("seq"), 1);
  RunState resumed(cp);
  EXPECT_EQ(resumed.result().counters["files_copied"], 5);
  EXPECT_EQ(resumed.result().refusals.at("n2:7"), "not mounted");
  EXPECT_EQ(resumed.pending(), 1u);
  EXPECT_EQ(resumed.checkpoint().header.at("seq"), 2);
  resumed.hear(report_of(a, false, 1, {}), nullptr, nullptr);
  EXPECT_TRUE(resumed.complete());
}

TEST(RunState, ACheckpointIsDueAfterManyReportsOrTwoSecondsButNeverTooOften) {
  EXPECT_FALSE(RunState::checkpoint_due(0, 10s, 0s));
  EXPECT_FALSE(RunState::checkpoint_due(10, 1s, 0s));
  EXPECT_TRUE(RunState::checkpoint_due(10, 2s, 0s));
  EXPECT_TRUE(RunState::checkpoint_due(RunState::kReportsPerCheckpoint, 0s, 0s));
  EXPECT_FALSE(RunState::checkpoint_due(RunState::kReportsPerCheckpoint, 1s, 100ms));  // 20 x 100 ms
  EXPECT_TRUE(RunState::checkpoint_due(RunState::kReportsPerCheckpoint, 2s, 100ms));
}

// A worker of another message version can only say it will not run the run's tasks, in its own
// format: the submitter reads enough of it to name that worker and its lmover, and keeps it.
TEST(RunState, ARefusalFromAWorkerOfAnotherVersionNamesItAndItsLmover) {
  RunState state(RunState::first_checkpoint("r1", {{"pass", "copy"}}));
  json notice = {{"v", 99}, {"lmover", "lmover 9.9.9 (commit abc)"}, {"run", "r1"}, {"refused_by", "n5:42"},
                 {"reason", "message version 3 from lmover 0.9.0 ..."}};
  auto none = [](const std::string&, const std::string&) {};
  auto no_counts = [](const std::string&, const std::string&, uint64_t) {};
  state.hear(pack_msgpack(notice), none, no_counts);
  ASSERT_TRUE(state.result().refusals.contains("n5:42")) << state.result().refusals.dump();
  std::string why = state.result().refusals["n5:42"];
  EXPECT_NE(why.find("message version 99 from lmover 9.9.9 (commit abc) on n5:42"), std::string::npos) << why;
  EXPECT_NE(why.find("every node must run the same lmover"), std::string::npos) << why;
  EXPECT_FALSE(state.complete());
  // A task message of another version is named the same way, with its run, so a worker can refuse it.
  json task = {{"v", 2}, {"run", "r7"}, {"tasks", json::array()}};
  try {
    decode_task(pack_msgpack(task));
    ADD_FAILURE() << "a task message of version 2 was taken";
  } catch (const OtherVersion& e) {
    EXPECT_EQ(e.run, "r7");
    EXPECT_NE(std::string(e.what()).find("message version 2 from an older lmover"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lmover
