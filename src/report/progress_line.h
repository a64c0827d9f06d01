// ProgressLine: a once-a-second status line on a terminal (entries, bytes, rates, actions), redrawn
// in place; silent when stderr is not a TTY, so logs and pipes stay clean.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "report/pass_stats.h"

namespace lmover {

class ProgressLine {
 public:
  // Starts drawing if `enabled` and stderr is a terminal.
  ProgressLine(std::string pass, const PassStats& stats, bool enabled);
  ~ProgressLine();  // erases the line

 private:
  void loop();
  void draw(double seconds);

  std::string pass_;
  const PassStats& stats_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  uint64_t last_entries_ = 0;
  uint64_t last_bytes_ = 0;
};

std::string human_bytes(double bytes);

}  // namespace lmover
