#include "report/log_run_tag.h"

namespace lmover {
namespace {
thread_local std::string current_run;
}  // namespace

LogRunTag::LogRunTag(std::string_view run) : previous_(std::move(current_run)) { current_run = run; }

LogRunTag::~LogRunTag() { current_run = std::move(previous_); }

void RunTagFlag::format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) {
  if (current_run.empty()) return;
  static constexpr std::string_view kRun = "run ";
  dest.append(kRun.data(), kRun.data() + kRun.size());
  dest.append(current_run.data(), current_run.data() + current_run.size());
  dest.push_back(':');
  dest.push_back(' ');
}

std::unique_ptr<spdlog::custom_flag_formatter> RunTagFlag::clone() const { return std::make_unique<RunTagFlag>(); }

}  // namespace lmover
