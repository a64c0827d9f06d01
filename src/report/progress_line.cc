#include "report/progress_line.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace lmover {

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (bytes >= 1024 && u < 5) {
    bytes /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", bytes, units[u]);
}

ProgressLine::ProgressLine(std::string pass, const PassStats& stats, bool enabled, double interval, Extra extra)
    : pass_(std::move(pass)), stats_(stats), extra_(std::move(extra)), terminal_(isatty(STDERR_FILENO)) {
  if (!enabled) return;
  if (terminal_) {
    thread_ = std::thread([this] { loop(std::chrono::seconds(1)); });
  } else if (interval > 0) {
    auto every = std::chrono::milliseconds(static_cast<long>(interval * 1000));
    thread_ = std::thread([this, every] { loop(every); });
  }
}

ProgressLine::~ProgressLine() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (terminal_) std::fputs("\r\033[K", stderr);
}

void ProgressLine::loop(std::chrono::milliseconds every) {
  auto start = std::chrono::steady_clock::now(), last = start;
  std::unique_lock lock(mutex_);
  while (!cv_.wait_for(lock, every, [this] { return stop_; })) {
    auto now = std::chrono::steady_clock::now();
    std::string line = text(std::chrono::duration<double>(now - start).count(),
                            std::chrono::duration<double>(now - last).count());
    last = now;
    if (terminal_) {
      std::fputs(("\r\033[K" + line).c_str(), stderr);
      std::fflush(stderr);
    } else {
      spdlog::info("{}", line);
    }
  }
}

std::string ProgressLine::text(double seconds, double since_last) {
  uint64_t entries = stats_.entries, bytes = stats_.bytes_copied;
  double span = std::max(since_last, 0.001);
  std::string line = fmt::format("[{}] {:.0f}s  {} entries ({:.0f}/s)  {} ({}/s)  {} actions  {} errors", pass_, seconds,
                                 entries, (entries - last_entries_) / span, human_bytes(double(bytes)),
                                 human_bytes((bytes - last_bytes_) / span), stats_.actions(), stats_.errors.load());
  last_entries_ = entries;
  last_bytes_ = bytes;
  if (extra_) {
    if (std::string more = extra_(); !more.empty()) line += "  " + more;
  }
  return line;
}

}  // namespace lmover
