// lmover's entry point: logging, resource limits, then the plan the command line describes.
#include <sys/resource.h>

#include <type_traits>
#include <variant>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/options.h"
#include "cli/run_plan.h"

namespace {

// Deep trees keep one fd open per level while a subtree is removed; let the process use what the
// administrator allows.
void raise_fd_limit() {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// -v: debug lines too; -q: warnings and errors only (a stats command has neither).
void set_log_level(const lmover::RunPlan& plan) {
  if (plan.options.verbose) spdlog::set_level(spdlog::level::debug);
  if (plan.quiet) spdlog::set_level(spdlog::level::warn);
}
void set_log_level(const lmover::BrokerPlan& plan) {
  if (plan.verbose) spdlog::set_level(spdlog::level::debug);
  if (plan.quiet && !plan.verbose) spdlog::set_level(spdlog::level::warn);
}
void set_log_level(const lmover::StatsPlan&) {}

}  // namespace

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("lmover");
  logger->set_pattern("%^%l%$: %v");
  spdlog::set_default_logger(logger);
  raise_fd_limit();

  lmover::ParsedCommand command = lmover::parse_command_line(argc, argv);
  if (const int* code = std::get_if<int>(&command)) return *code;
  return std::visit(
      [](const auto& plan) -> int {
        if constexpr (std::is_same_v<std::decay_t<decltype(plan)>, int>) {
          return plan;
        } else {
          set_log_level(plan);
          return lmover::execute(plan);
        }
      },
      command);
}
