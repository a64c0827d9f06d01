// What the distributed tests share: background lmover processes, a fixture with its own queue
// prefix on the suite's broker (tests/services.sh), and tree builders with many small tasks.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.h"

namespace lmover::test {

inline std::string broker_url() {
  const char* url = getenv("LMOVER_TEST_BROKER");
  return url ? url : "";
}

// Every test gets its own queues.
inline std::string unique_prefix() {
  static int n = 0;
  return "t" + std::to_string(getpid()) + "-" + std::to_string(++n);
}

// A background lmover process (a worker or a submitter) with its output in a file.
class Process {
 public:
  // `args` are lmover's; with `command_line`, args[0] is the program to run instead.
  Process(std::vector<std::string> args, std::string log, bool command_line = false) : log_(std::move(log)) {
    if (!command_line) args.insert(args.begin(), LMOVER_BIN);
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp(argv[0], argv.data());
      _exit(98);
    }
  }
  ~Process() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      wait();
    }
  }
  void signal(int sig) { kill(pid_, sig); }
  pid_t pid() const { return pid_; }
  void kill9() {
    kill(pid_, SIGKILL);
    wait();
  }
  int wait() {
    int status = 0;
    if (pid_ > 0) waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string log() const { return read_file(log_); }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

class DistributedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(broker_url().empty()) << "LMOVER_TEST_BROKER is not set: run the suite with scripts/test.sh, "
                                          "which starts RabbitMQ on loopback (tests/services.sh)";
    make_dir(src_);
  }
  std::unique_ptr<Process> worker(int threads = 2) {
    return std::make_unique<Process>(
        std::vector<std::string>{"worker", "--broker", broker_url(), "--prefix", prefix_, "-j", std::to_string(threads)},
        tmp_ / ("worker" + std::to_string(++workers_) + ".log"));
  }
  std::vector<std::string> pass(const std::string& command) {
    return {command, src_, dst_, "--broker", broker_url(), "--prefix", prefix_};
  }
  // Many small directories, hard links across them: enough tasks for a kill to land mid-pass.
  void build_wide_tree(int dirs, int files) {
    for (int d = 0; d < dirs; ++d) {
      std::string dir = src_ + "/d" + std::to_string(d);
      make_dir(dir);
      for (int f = 0; f < files; ++f) write_file(dir + "/f" + std::to_string(f), std::string(2000 + f, char('a' + d % 26)));
      if (d > 0) link((src_ + "/d0/f" + std::to_string(d % files)).c_str(), (dir + "/link").c_str());
    }
  }

  TempDir tmp_;
  std::string src_ = tmp_ / "src", dst_ = tmp_ / "dst";
  std::string prefix_ = unique_prefix();
  int workers_ = 0;
};

}  // namespace lmover::test
