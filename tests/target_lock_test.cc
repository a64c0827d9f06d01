// One run per target: a second run on the same DST is refused naming the holder, a lock whose
// holder died is taken over, and the lock is gone when a run ends.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "test_support.h"
#include "tree_oracle.h"

namespace lmover::test {
namespace {

using namespace std::chrono_literals;

std::string host() {
  char name[256] = "";
  gethostname(name, sizeof name - 1);
  return name;
}

class TargetLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    make_dir(src_);
    for (int d = 0; d < 5; ++d) {
      make_dir(src_ + "/d" + std::to_string(d));
      for (int f = 0; f < 20; ++f) write_file(src_ + "/d" + std::to_string(d) + "/f" + std::to_string(f), "data");
    }
  }
  TempDir tmp_;
  std::string src_ = tmp_ / "src", dst_ = tmp_ / "dst";
  std::string lock_ = tmp_ / ".dst.lmover-lock";
};

TEST_F(TargetLockTest, ASecondRunOnTheSameTargetIsRefusedNamingTheHolder) {
  // Enough to copy that the first run is still going when it is frozen (a few hundred ms).
  for (int d = 0; d < 20; ++d) {
    make_dir(src_ + "/big" + std::to_string(d));
    for (int f = 0; f < 200; ++f) write_file(src_ + "/big" + std::to_string(d) + "/f" + std::to_string(f), std::string(4096, 'x'));
  }
  // The first run is frozen while it holds the lock: the second must not start.
  pid_t first = fork();
  if (first == 0) {
    execl(LMOVER_BIN, LMOVER_BIN, "copy", src_.c_str(), dst_.c_str(), "--no-progress", (char*)nullptr);
    _exit(98);
  }
  for (int i = 0; i < 2000 && !exists(lock_); ++i) std::this_thread::sleep_for(1ms);
  kill(first, SIGSTOP);
  bool held = exists(lock_);
  RunResult second = run_lmover({"sync", src_, dst_});
  kill(first, SIGCONT);
  int status = 0;
  waitpid(first, &status, 0);
  if (!held) GTEST_SKIP() << "the first run finished before it could be frozen";
  EXPECT_EQ(second.exit_code, 2) << second.output;
  EXPECT_NE(second.output.find("another lmover run holds this target: copy on " + host() + " (pid " +
                               std::to_string(first) + ")"),
            std::string::npos)
      << second.output;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_FALSE(exists(lock_)) << "the lock outlived its run";
  EXPECT_TRUE(compare_trees(src_, dst_, OracleOptions{.dir_times = false}).empty());
}

TEST_F(TargetLockTest, ALockLeftByADeadRunIsTakenOver) {
  make_dir(dst_);
  // What a run killed -9 on this host leaves: its pid no longer runs (or runs another program).
  write_file(lock_, R"({"host":")" + host() + R"(","pid":999999999,"started":"1","command":"copy","run":""})");
  RunResult r = run_lmover({"sync", src_, dst_});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("taking over the lock"), std::string::npos) << r.output;
  EXPECT_FALSE(exists(lock_));
  EXPECT_TRUE(compare_trees(src_, dst_).empty());
}

TEST_F(TargetLockTest, ALockOfAnotherHostIsHonouredWhileItsHeartbeatIsFresh) {
  make_dir(dst_);
  write_file(lock_, R"({"host":"mover-node-17","pid":4242,"started":"1","command":"sync","run":""})");
  RunResult fresh = run_lmover({"copy", src_, dst_});
  EXPECT_EQ(fresh.exit_code, 2) << fresh.output;
  EXPECT_NE(fresh.output.find("sync on mover-node-17 (pid 4242)"), std::string::npos) << fresh.output;
  set_times(lock_, ts(time(nullptr) - 600, 0), ts(time(nullptr) - 600, 0));  // its node died 10 min ago
  RunResult stale = run_lmover({"copy", src_, dst_});
  EXPECT_EQ(stale.exit_code, 0) << stale.output;
  EXPECT_FALSE(exists(lock_));
}

TEST_F(TargetLockTest, ADeadSubmittersRunIsNotTakenOverButNamed) {
  make_dir(dst_);
  write_file(lock_, R"({"host":")" + host() + R"(","pid":999999999,"started":"1","command":"copy","run":"00c0ffee00c0ffee"})");
  RunResult r = run_lmover({"copy", src_, dst_});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("lmover wait --run 00c0ffee00c0ffee"), std::string::npos) << r.output;
  EXPECT_TRUE(exists(lock_));
}

}  // namespace
}  // namespace lmover::test
