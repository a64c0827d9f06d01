// lmover's entry point: logging, resource limits, then the plan the command line describes.
#include <sys/resource.h>

#include <type_traits>
#include <variant>

#include "cli/logging.h"
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
  lmover::start_logging();
  raise_fd_limit();

  lmover::ParsedCommand command = lmover::parse_command_line(argc, argv);
  if (const int* code = std::get_if<int>(&command)) return *code;
  return std::visit(
      [](const auto& plan) -> int {
        if constexpr (std::is_same_v<std::decay_t<decltype(plan)>, int>) {
          return plan;
        } else {
          return lmover::execute(plan);
        }
      },
      command);
}
