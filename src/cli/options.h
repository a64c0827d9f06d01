// The command line: subcommands, options and their validation, turned into a RunPlan. No logic
// beyond parsing lives here.
#pragma once

#include <ctime>
#include <string>

#include "cli/run_plan.h"
#include "cli/stats_commands.h"

namespace lmover {

// Parses "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]" (local time) or "@EPOCH_SECONDS".
// Throws std::invalid_argument naming the text.
timespec parse_date(const std::string& text);

// Parses argv. Returns the exit code to use right away (help, usage error), or -1 with one of
// `plan` (copy/delete/dirtime/sync), `broker_plan` (worker/wait/status..., command set) or
// `stats_plan` (stats show/graphite, command set) filled in.
int parse_command_line(int argc, char** argv, RunPlan& plan, BrokerPlan& broker_plan, StatsPlan& stats_plan);

}  // namespace lmover
