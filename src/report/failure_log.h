// FailureLog: every entry that failed, logged with its error and optionally listed in a file, one
// raw path (relative to SRC/DST) a line, so a later run or script can retry exactly those.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace lmover {

class FsError;

class FailureLog {
 public:
  FailureLog() = default;
  ~FailureLog();
  FailureLog(const FailureLog&) = delete;
  FailureLog& operator=(const FailureLog&) = delete;

  // Opens (truncates) the list file. Throws FsError if it cannot be created.
  void open_list(const std::string& path);

  // Keeps every failure in memory too (a distributed worker sends them with its report).
  void collect() { collect_ = true; }
  std::vector<std::pair<std::string, std::string>> take_collected();

  // Logs `error` (it names the path and the errno text) and lists its path. Thread-safe. A
  // failure of the whole target (ENOSPC, EDQUOT, EROFS) is logged the first time only, with a
  // word that the others are counted: a full target fails every file after it, and 5 000 lines
  // alike hide the one that matters. Every path is still listed.
  void record(const FsError& error);
  // Lists a failure that happened elsewhere (on a worker node), and logs it as record() does.
  void record_remote(const std::string& path, const std::string& message);
  // The target-wide failures counted and not logged, one line each kind ("" when none); said at
  // the end of a run.
  std::string unlogged_summary() const;

  // --max-errors: once `limit` failures are recorded (here, or heard from workers), `stop` is
  // called, once, and the log says why the pass ends early. 0: no limit.
  void stop_after(uint64_t limit, std::function<void()> stop);
  bool limit_reached() const { return limit_reached_.load(); }

 private:
  mutable std::mutex mutex_;
  std::FILE* list_ = nullptr;
  bool collect_ = false;
  std::vector<std::pair<std::string, std::string>> collected_;
  // Per target-wide errno (by its text): how many failures with it were held back, not logged.
  std::vector<std::pair<std::string, uint64_t>> target_wide_;

  // What record() and record_remote() do: logs, keeps (a failure `here`, if collecting), lists,
  // and counts against the limit.
  void note(const std::string& path, const std::string& message, bool here);
  // Logs `message`, unless it is a target-wide failure met before (then counted).
  void log(const std::string& message);
  void list(const std::string& path);
  // Counts one failure against the limit; true for the one that reaches it.
  bool count_against_limit();

  uint64_t limit_ = 0, failures_ = 0;
  std::function<void()> stop_;
  std::atomic<bool> limit_reached_{false};
};

}  // namespace lmover
