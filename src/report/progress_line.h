// ProgressLine: how a pass is doing while it runs. On a terminal, a status line redrawn in place
// every second (entries, bytes, rates, actions, errors, and what `extra` adds: a distributed run's
// pending tasks and workers). Without one (Slurm, systemd, a pipe), a plain log line every
// `interval` seconds with the rates over that interval, so that a run of days is never silent
// until it ends; interval 0: none.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "report/pass_stats.h"

namespace lmover {

class ProgressLine {
 public:
  // What a line adds after the counters ("", or e.g. "120 tasks pending, 4 workers consuming").
  using Extra = std::function<std::string()>;

  // Nothing at all unless `enabled` (--no-progress, -q, -v, -n turn it off).
  ProgressLine(std::string pass, const PassStats& stats, bool enabled, double interval = 60, Extra extra = {});
  ~ProgressLine();  // erases the terminal line

 private:
  void loop(std::chrono::milliseconds every);
  std::string text(double seconds, double since_last);

  std::string pass_;
  const PassStats& stats_;
  Extra extra_;
  bool terminal_ = false;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  uint64_t last_entries_ = 0;
  uint64_t last_bytes_ = 0;
};

std::string human_bytes(double bytes);

}  // namespace lmover
