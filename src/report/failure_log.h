// FailureLog: every entry that failed, logged with its error and optionally listed in a file, one
// raw path (relative to SRC/DST) a line, so a later run or script can retry exactly those.
#pragma once

#include <cstdint>
#include <cstdio>
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

  // Logs `error` (it names the path and the errno text) and lists its path. Thread-safe.
  void record(const FsError& error);
  // Lists a failure that happened elsewhere (on a worker node); logged there already.
  void record_remote(const std::string& path, const std::string& message);

 private:
  mutable std::mutex mutex_;
  std::FILE* list_ = nullptr;
  bool collect_ = false;
  std::vector<std::pair<std::string, std::string>> collected_;
};

}  // namespace lmover
