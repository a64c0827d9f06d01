// A worker must see the filesystems the submitter saw before it acts on a run. Each test mounts a
// tmpfs as a root and starts one worker in a private mount namespace where that root is not
// mounted (`unshare -m`, then umount), as on a node whose mount failed at boot: the worker must
// refuse the run, hand its tasks back, and the run must finish on a healthy worker with nothing
// wrongly deleted or written into the bare mount-point directory.
#include <sys/mount.h>

#include <chrono>
#include <cstring>
#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "distributed_support.h"
#include "test_support.h"
#include "tree_oracle.h"

namespace lmover::test {
namespace {

using namespace std::chrono_literals;

class WorkerGuardTest : public DistributedTest {
 protected:
  void TearDown() override {
    for (const auto& m : mounts_) umount2(m.c_str(), MNT_DETACH);
  }
  void mount_tmpfs(const std::string& dir) {
    if (!exists(dir)) make_dir(dir);
    ASSERT_EQ(mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=64m"), 0) << dir << ": " << strerror(errno);
    mounts_.push_back(dir);
  }
  // A worker on a node where `mount_point` is not mounted.
  std::unique_ptr<Process> worker_without(const std::string& mount_point) {
    std::string script = "umount '" + mount_point + "' && exec '" + LMOVER_BIN + "' worker --broker '" + broker_url() +
                         "' --prefix '" + prefix_ + "' -j 1";
    return std::make_unique<Process>(
        std::vector<std::string>{"unshare", "-m", "--propagation", "private", "sh", "-c", script},
        tmp_ / "unmounted-worker.log", true);
  }
  // Waits until the submitter's output says that a worker refused the run.
  static bool wait_for_refusal(const Process& submitter) {
    for (int i = 0; i < 200; ++i) {
      if (submitter.log().find("refuses the tasks of run") != std::string::npos) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  // What a node without the mount sees in `mount_point`.
  std::string bare_listing(const std::string& mount_point) {
    std::string out = tmp_ / "bare.txt";
    run_shell("unshare -m --propagation private sh -c \"umount '" + mount_point + "' && ls -A '" + mount_point +
              "'\" > '" + out + "'");
    return read_file(out);
  }

  std::vector<std::string> mounts_;
};

TEST_F(WorkerGuardTest, DeleteIsRefusedByAWorkerWithoutTheSourceMounted) {
  mount_tmpfs(src_);
  build_wide_tree(20, 50);
  ASSERT_EQ(run_lmover({"copy", src_, dst_}).exit_code, 0);
  auto blind = worker_without(src_);
  Process submitter(pass("delete"), tmp_ / "submitter.log");
  ASSERT_TRUE(wait_for_refusal(submitter)) << submitter.log() << blind->log();
  EXPECT_NE(blind->log().find("source " + src_ + " is not the filesystem the submitter saw"), std::string::npos)
      << blind->log();
  // The run waits for a worker that sees the right filesystems; one comes, and finishes it.
  auto healthy = worker();
  EXPECT_EQ(submitter.wait(), 0) << submitter.log();
  EXPECT_TRUE(compare_trees(src_, dst_, OracleOptions{.dir_times = false}).empty()) << "the target lost entries";
  EXPECT_EQ(blind->log().find("refusing"), blind->log().rfind("refusing")) << "said more than once: " << blind->log();
}

TEST_F(WorkerGuardTest, CopyIsRefusedByAWorkerWithoutTheTargetMounted) {
  build_wide_tree(20, 50);
  mount_tmpfs(dst_);
  auto blind = worker_without(dst_);
  std::string summary = tmp_ / "summary.json";
  Process submitter({"copy", src_, dst_, "--broker", broker_url(), "--prefix", prefix_, "--json", summary},
                    tmp_ / "submitter.log");
  ASSERT_TRUE(wait_for_refusal(submitter)) << submitter.log() << blind->log();
  // `lmover status` shows the refusing node while the run waits.
  std::smatch m;
  std::string log = submitter.log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("run ([0-9a-f]{16}) submitted"))) << log;
  std::string refused;
  for (int i = 0; i < 60 && refused.find("refused by") == std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
    refused = run_lmover({"status", "--run", m[1], "--broker", broker_url(), "--prefix", prefix_}, -1, false).output;
    if (refused.find("is not the filesystem") == std::string::npos) refused.clear();
  }
  EXPECT_NE(refused.find("target " + dst_), std::string::npos) << refused;
  auto healthy = worker();
  EXPECT_EQ(submitter.wait(), 0) << submitter.log();
  EXPECT_TRUE(compare_trees(src_, dst_, OracleOptions{.dir_times = false}).empty());
  EXPECT_EQ(bare_listing(dst_), "") << "a worker wrote into the bare mount point";
  auto doc = nlohmann::json::parse(read_file(summary));
  EXPECT_EQ(doc["passes"][0]["refused_by"].size(), 1u) << doc.dump();
}

}  // namespace
}  // namespace lmover::test

namespace lmover::test {
namespace {

using namespace std::chrono_literals;

size_t count_left(const std::string& dst, int dirs, int extras) {
  size_t left = 0;
  for (int d = 0; d < dirs; ++d) {
    for (int e = 0; e < extras; ++e) left += exists(dst + "/d" + std::to_string(d) + "/extra" + std::to_string(e));
  }
  return left;
}

// --max-delete over the broker: one budget for all workers, never exceeded, even when a worker is
// killed -9 mid-pass and its tasks run again elsewhere; the same exit code and message as embedded.
TEST_F(DistributedTest, MaxDeleteIsOneBudgetSharedByAllWorkers) {
  constexpr int kDirs = 60, kExtras = 5, kBudget = 40;
  build_wide_tree(kDirs, 2);
  ASSERT_EQ(run_lmover({"copy", src_, dst_}).exit_code, 0);
  for (int d = 0; d < kDirs; ++d) {
    for (int e = 0; e < kExtras; ++e) write_file(dst_ + "/d" + std::to_string(d) + "/extra" + std::to_string(e), "x");
  }
  auto a = worker(2), b = worker(2);
  std::vector<std::string> args = pass("delete");
  args.insert(args.end(), {"--max-delete", std::to_string(kBudget)});
  Process submitter(args, tmp_ / "delete.log");
  std::this_thread::sleep_for(150ms);
  a->kill9();  // whatever it held goes to b; whatever budget it took is spent
  auto c = worker(1);
  EXPECT_EQ(submitter.wait(), 1) << submitter.log();
  EXPECT_NE(submitter.log().find("deletion limit (--max-delete) reached"), std::string::npos) << submitter.log();
  size_t deleted = kDirs * kExtras - count_left(dst_, kDirs, kExtras);
  EXPECT_LE(deleted, size_t(kBudget));
  EXPECT_GE(deleted, size_t(kBudget) - 4) << "at most what the killed worker held unspent is lost";
  EXPECT_TRUE(compare_trees(src_, dst_, OracleOptions{.dir_times = false}).size() > 0);
  // Nothing the source still has was touched.
  for (int d = 0; d < kDirs; ++d) EXPECT_TRUE(exists(dst_ + "/d" + std::to_string(d) + "/f1")) << d;
}

}  // namespace
}  // namespace lmover::test
