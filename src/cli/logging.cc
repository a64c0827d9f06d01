#include "cli/logging.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>

#include "report/log_run_tag.h"

namespace lmover {
namespace {

// systemd sets JOURNAL_STREAM=DEV:INODE for a service whose stderr is connected to the journal;
// a process whose stderr was redirected since (a child writing to a file) keeps the variable but
// not the stream, hence the comparison (systemd.exec(5)).
bool stderr_is_the_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (!stream) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st;
  if (fstat(STDERR_FILENO, &st) < 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

std::unique_ptr<spdlog::formatter> formatter(const char* pattern) {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  f->add_flag<RunTagFlag>('*').set_pattern(pattern);
  return f;
}

}  // namespace

void start_logging() {
  std::shared_ptr<spdlog::logger> logger;
  if (stderr_is_the_journal()) {
    logger = spdlog::create<spdlog::sinks::systemd_sink_mt>("lmover", "lmover", true);
    logger->set_formatter(formatter("%*%v"));
  } else {
    logger = spdlog::stderr_color_mt("lmover");
    logger->set_formatter(formatter("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$: %*%v"));
  }
  spdlog::set_default_logger(logger);
}

spdlog::level::level_enum parse_log_level(const std::string& name) {
  if (name == "warning") return spdlog::level::warn;
  spdlog::level::level_enum level = spdlog::level::from_str(name);
  // from_str answers "off" for any word it does not know.
  if (level == spdlog::level::off && name != "off") {
    throw std::invalid_argument("--log-level: '" + name + "' is not one of trace, debug, info, warn, error, off");
  }
  return level;
}

void set_log_level(const std::optional<std::string>& log_level, bool verbose, bool quiet) {
  if (log_level) spdlog::set_level(parse_log_level(*log_level));
  else if (verbose) spdlog::set_level(spdlog::level::debug);
  else if (quiet) spdlog::set_level(spdlog::level::warn);
  else spdlog::set_level(spdlog::level::info);
}

}  // namespace lmover
