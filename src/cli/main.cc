// lmover's entry point: logging, resource limits, then the plan the command line describes.
#include <sys/resource.h>

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

}  // namespace

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("lmover");
  logger->set_pattern("%^%l%$: %v");
  spdlog::set_default_logger(logger);
  raise_fd_limit();

  lmover::RunPlan plan;
  lmover::BrokerPlan broker_plan;
  lmover::StatsPlan stats_plan;
  int code = lmover::parse_command_line(argc, argv, plan, broker_plan, stats_plan);
  if (code >= 0) return code;
  if (!broker_plan.command.empty()) {
    if (broker_plan.verbose) spdlog::set_level(spdlog::level::debug);
    if (broker_plan.quiet && !broker_plan.verbose) spdlog::set_level(spdlog::level::warn);
    return lmover::execute(broker_plan);
  }
  if (!stats_plan.command.empty()) return lmover::execute(stats_plan);
  if (plan.options.verbose) spdlog::set_level(spdlog::level::debug);
  if (plan.quiet) spdlog::set_level(spdlog::level::warn);
  return lmover::execute(plan);
}
