// Which run a log line is about. A worker serves the tasks of several runs at once, so a line such
// as "task on 'a/b' failed" needs the run it belongs to: a thread names the run whose task it
// runs (LogRunTag, for as long as the task), and the log pattern's %* flag prints "run ID: "
// (nothing outside a run).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/pattern_formatter.h>

namespace lmover {

class LogRunTag {
 public:
  explicit LogRunTag(std::string_view run);
  ~LogRunTag();
  LogRunTag(const LogRunTag&) = delete;
  LogRunTag& operator=(const LogRunTag&) = delete;

 private:
  std::string previous_;
};

// The formatter of the %* flag, for spdlog::pattern_formatter::add_flag.
class RunTagFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<custom_flag_formatter> clone() const override;
};

}  // namespace lmover
