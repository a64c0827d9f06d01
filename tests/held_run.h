// HeldRun: lmover started in the background under the slow-read shim (slow_read_shim.c), held at
// its first read of one source file until the test says go, or killed there: to change the source
// at an exact moment, or to kill a run mid-pass.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"

namespace lmover::test {

// A run of lmover held by the slow-read shim at its first read of `name` (at `offset` or past it).
class HeldRun {
 public:
  // `after`: held once the read has returned, else before it.
  HeldRun(const TempDir& tmp, std::vector<std::string> args, const std::string& name, long offset = 0, int skip = 0,
          bool after = false)
      : shake_(tmp / ("shake-" + std::to_string(++count_))), out_(shake_ + ".out"), json_(shake_ + ".json") {
    make_dir(shake_);
    args.insert(args.end(), {"--json", json_});
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      setenv("LD_PRELOAD", SLOW_READ_SHIM, 1);
      setenv("LMOVER_SHIM_NAME", name.c_str(), 1);
      setenv("LMOVER_SHIM_DIR", shake_.c_str(), 1);
      setenv("LMOVER_SHIM_OFFSET", std::to_string(offset).c_str(), 1);
      setenv("LMOVER_SHIM_SKIP", std::to_string(skip).c_str(), 1);
      setenv("LMOVER_SHIM_AFTER", after ? "1" : "0", 1);
      std::vector<char*> argv{const_cast<char*>(LMOVER_BIN)};
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(LMOVER_BIN, argv.data());
      _exit(98);
    }
  }
  ~HeldRun() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  // Whether the run reached the held read within 20 s.
  bool held() {
    for (int i = 0; i < 20000; ++i) {
      if (exists(shake_ + "/held")) return true;
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
  }
  void go() { write_file(shake_ + "/go", ""); }
  void kill9() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  RunResult finish() {
    go();
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    RunResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.output = read_file(out_);
    std::ifstream js(json_);
    if (js) js >> r.summary;
    return r;
  }

 private:
  static inline int count_ = 0;
  std::string shake_, out_, json_;
  pid_t pid_ = -1;
};

}  // namespace lmover::test
