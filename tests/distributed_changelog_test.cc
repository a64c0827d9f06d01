// The changelog-driven final pass over the suite's RabbitMQ, with two workers: the places travel in
// their tasks, the phases are one run each, and the hard-link groups the workers meet come back in
// their reports to be followed by the submitter. Judged like the embedded one (changelog_test.cc):
// the tree oracle and `lmover verify`.
#include <chrono>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "changelog_support.h"
#include "distributed_support.h"

namespace lmover::test {
namespace {

class DistributedChangelog : public ChangelogTest, public ::testing::WithParamInterface<uint32_t> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(broker_url().empty()) << "LMOVER_TEST_BROKER is not set: run the suite with scripts/test.sh";
    ChangelogTest::SetUp();  // the fake liblustreapi's environment, inherited by the workers
  }
  std::unique_ptr<Process> worker() {
    return std::make_unique<Process>(
        std::vector<std::string>{"worker", "--broker", broker_url(), "--prefix", prefix_, "-j", "2"},
        tmp_ / ("worker" + std::to_string(++workers_) + ".log"));
  }
  RunResult over_broker(std::vector<std::string> args) {
    args.insert(args.end() - 2, {"--broker", broker_url(), "--prefix", prefix_});
    return lmover(args);
  }
  std::string prefix_ = unique_prefix();
  int workers_ = 0;
};

// Random mutations (renames over existing names, hard links across directories, in-place
// rewrites, whole subtrees made and removed) between a full sync and two incremental ones.
TEST_P(DistributedChangelog, RandomMutationsThenAnIncrementalSyncOverABrokerLeaveAnExactClone) {
  auto w1 = worker(), w2 = worker();
  initial_tree(4, 5);
  RunResult full = over_broker({"sync", "--changelog", "cl1", src_, dst_});
  ASSERT_EQ(full.exit_code, 0) << full.output << w1->log();
  Users users(src_, mds_, GetParam() * 131);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 25; ++i) users.any();
    users.hard_link(src_ + "/d0/f1", src_, "top_link" + std::to_string(round));  // a group met in a listing
    RunResult inc = over_broker({"sync", "--changelog", "cl1", "--incremental", src_, dst_});
    ASSERT_EQ(inc.exit_code, 0) << inc.output << w1->log() << w2->log();
    EXPECT_GT(inc.summary["changelog"]["places"].get<uint64_t>(), 0u) << inc.output;
    // One run per phase of the copy that had places to visit: the places went through the broker.
    const auto& copy = inc.summary["passes"][0];
    ASSERT_TRUE(copy.contains("runs")) << copy.dump();
    EXPECT_GE(copy["runs"].size(), 2u) << copy.dump();
    expect_exact("round " + std::to_string(round), inc.output);
    EXPECT_EQ(mds_.records_left(), 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, DistributedChangelog, ::testing::Range(1u, 4u));

// A directory renamed is walked whole, and no record names the other names of the hard-link groups
// it holds: the workers say which groups they settled, and the submitter follows them (fid2path)
// to every name in a last phase, so the groups stay whole on the target.
TEST_F(DistributedChangelog, ARenamedDirectoryBringsItsHardLinkGroupsAlong) {
  auto w1 = worker(), w2 = worker();
  initial_tree(3, 3);  // d0/f0 and d1/link0 are one file
  ASSERT_EQ(over_broker({"sync", "--changelog", "cl1", src_, dst_}).exit_code, 0);
  Users users(src_, mds_, 5);
  users.hard_link(src_ + "/d0/f1", src_ + "/d2", "link1");
  users.rename_to(src_ + "/d0", src_, "moved");
  RunResult inc = over_broker({"sync", "--changelog", "cl1", "--incremental", src_, dst_});
  ASSERT_EQ(inc.exit_code, 0) << inc.output << w1->log();
  expect_exact("after the rename", inc.output);
}

// A worker killed while it holds a task of a phase (here: in the middle of reading a changed file):
// the broker hands the task to another worker, the phase completes, and the clone is exact.
TEST_F(DistributedChangelog, AWorkerKilledInAPhaseLosesNothing) {
  initial_tree(3, 3);
  {
    auto first = worker();
    ASSERT_EQ(over_broker({"sync", "--changelog", "cl1", src_, dst_}).exit_code, 0) << first->log();
  }
  Users users(src_, mds_, 29);
  users.create(src_ + "/d1", "big", std::string(300000, 'b'));
  users.rewrite_in_place(src_ + "/d0/f1");
  users.unlink_file(src_ + "/d2/f0");
  std::string shake = tmp_ / "shake";
  make_dir(shake);
  const std::vector<std::pair<const char*, std::string>> shim = {
      {"LD_PRELOAD", SLOW_READ_SHIM}, {"LMOVER_SHIM_NAME", "big"}, {"LMOVER_SHIM_DIR", shake},
      {"LMOVER_SHIM_OFFSET", "0"},    {"LMOVER_SHIM_SKIP", "0"},   {"LMOVER_SHIM_AFTER", "0"}};
  for (const auto& [k, v] : shim) setenv(k, v.c_str(), 1);
  auto held = worker();  // the shim holds it at its first read of 'big'
  for (const auto& [k, v] : shim) unsetenv(k);
  Process submitter({"sync", "--lustre", "on", "--changelog", "cl1", "--incremental", "--broker", broker_url(), "--prefix",
                     prefix_, src_, dst_},
                    tmp_ / "submitter.log");
  bool reached = false;
  for (int i = 0; i < 300 && !reached; ++i) {
    reached = exists(shake + "/held");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(reached) << submitter.log() << held->log();
  held->kill9();
  auto other = worker();
  EXPECT_EQ(submitter.wait(), 0) << submitter.log() << other->log();
  expect_exact("after the kill", submitter.log());
  EXPECT_EQ(mds_.records_left(), 0u);
}

}  // namespace
}  // namespace lmover::test
