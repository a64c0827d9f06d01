#include "report/failure_log.h"

#include <cerrno>
#include <utility>

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

void FailureLog::record(const FsError& error) {
  spdlog::error("{}", error.what());
  std::lock_guard lock(mutex_);
  if (collect_) collected_.emplace_back(error.path(), error.what());
  if (list_) {
    std::fwrite(error.path().data(), 1, error.path().size(), list_);
    std::fputc('\n', list_);
    std::fflush(list_);
  }
}

void FailureLog::record_remote(const std::string& path, const std::string& message) {
  spdlog::error("{}", message);
  std::lock_guard lock(mutex_);
  if (list_) {
    std::fwrite(path.data(), 1, path.size(), list_);
    std::fputc('\n', list_);
    std::fflush(list_);
  }
}

std::vector<std::pair<std::string, std::string>> FailureLog::take_collected() {
  std::lock_guard lock(mutex_);
  return std::exchange(collected_, {});
}

}  // namespace lmover
