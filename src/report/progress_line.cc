#include "report/progress_line.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include <fmt/format.h>

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

ProgressLine::ProgressLine(std::string pass, const PassStats& stats, bool enabled)
    : pass_(std::move(pass)), stats_(stats) {
  if (enabled && isatty(STDERR_FILENO)) thread_ = std::thread([this] { loop(); });
}

ProgressLine::~ProgressLine() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  std::fputs("\r\033[K", stderr);
}

void ProgressLine::loop() {
  auto start = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; })) {
    draw(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
}

void ProgressLine::draw(double seconds) {
  uint64_t entries = stats_.entries, bytes = stats_.bytes_copied;
  std::string line = fmt::format("\r\033[K[{}] {:.0f}s  {} entries ({}/s)  {} ({}/s)  {} actions  {} errors", pass_,
                                 seconds, entries, entries - last_entries_, human_bytes(double(bytes)),
                                 human_bytes(double(bytes - last_bytes_)), stats_.actions(), stats_.errors.load());
  last_entries_ = entries;
  last_bytes_ = bytes;
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

}  // namespace lmover
