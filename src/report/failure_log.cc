#include "report/failure_log.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "fs/fs_error.h"

namespace lmover {

FailureLog::~FailureLog() {
  if (list_) std::fclose(list_);
}

void FailureLog::open_list(const std::string& path) {
  list_ = std::fopen(path.c_str(), "wb");
  if (!list_) throw FsError("create failure list", path, errno);
}

namespace {

// The errors that fail the whole target, not one entry: every file after the first fails alike.
constexpr int kTargetWide[] = {ENOSPC, EDQUOT, EROFS};

// Whether a failure of target-wide `kind` is logged now: the first one, and again every 10 minutes
// with how many alike were held back since. Process-wide: a worker makes a FailureLog per task.
bool log_now(std::string_view kind, uint64_t* held) {
  static std::mutex mutex;
  static std::map<std::string, std::pair<uint64_t, std::chrono::steady_clock::time_point>, std::less<>> kinds;
  constexpr auto kAgain = std::chrono::minutes(10);
  std::lock_guard lock(mutex);
  auto now = std::chrono::steady_clock::now();
  auto it = kinds.find(kind);
  if (it == kinds.end()) {
    kinds.emplace(std::string(kind), std::pair{uint64_t{0}, now});
    *held = 0;
    return true;
  }
  auto& [count, last] = it->second;
  if (now - last < kAgain) return ++count, false;
  *held = std::exchange(count, 0);
  last = now;
  return true;
}

}  // namespace

void FailureLog::log(const std::string& message) {
  for (int err : kTargetWide) {
    std::string_view kind = std::strerror(err);
    if (!message.ends_with(std::string(": ").append(kind))) continue;
    uint64_t held = 0;
    if (!log_now(kind, &held)) {  // counted, and said at the end (unlogged_summary)
      auto it = std::find_if(target_wide_.begin(), target_wide_.end(), [&](const auto& k) { return k.first == kind; });
      if (it == target_wide_.end()) it = target_wide_.emplace(target_wide_.end(), kind, 0);
      ++it->second;
      return;
    }
    spdlog::error("{}", message);
    if (held > 0) {
      spdlog::error("{} more failures with '{}' in the last 10 minutes were not logged one by one", held, kind);
    } else {
      spdlog::error("the target fails as a whole ({}): further failures alike are counted, not logged one by one",
                    kind);
    }
    return;
  }
  spdlog::error("{}", message);
}

void FailureLog::list(const std::string& path) {
  if (!list_) return;
  std::fwrite(path.data(), 1, path.size(), list_);
  std::fputc('\n', list_);
  std::fflush(list_);
}

void FailureLog::record(const FsError& error) { note(error.path(), error.what(), true); }

void FailureLog::record_remote(const std::string& path, const std::string& message) { note(path, message, false); }

void FailureLog::note(const std::string& path, const std::string& message, bool here) {
  bool stop = false;
  {
    std::lock_guard lock(mutex_);
    log(message);
    if (here && collect_) collected_.emplace_back(path, message);  // a worker sends its own with its report
    list(path);
    stop = count_against_limit();
  }
  if (stop) stop_();  // outside the lock: it may stop engines whose threads record failures
}

void FailureLog::stop_after(uint64_t limit, std::function<void()> stop) {
  std::lock_guard lock(mutex_);
  limit_ = limit;
  stop_ = std::move(stop);
}

bool FailureLog::count_against_limit() {
  ++failures_;
  if (limit_ == 0 || failures_ != limit_) return false;
  limit_reached_ = true;
  spdlog::error("{} failures (--max-errors {}): stopping; the entries not reached are left for the next pass", failures_,
                limit_);
  return stop_ != nullptr;
}

std::string FailureLog::unlogged_summary() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [kind, count] : target_wide_) {
    out += fmt::format("{}{} more failures with '{}' were not logged one by one{}", out.empty() ? "" : "; ", count, kind,
                       list_ ? " (all are in the --failures list)" : "");
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> FailureLog::take_collected() {
  std::lock_guard lock(mutex_);
  return std::exchange(collected_, {});
}

}  // namespace lmover
