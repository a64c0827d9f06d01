// The command line: subcommands, options and their validation, turned into the verb's plan. No
// logic beyond parsing lives here.
#pragma once

#include <ctime>
#include <string>
#include <variant>

#include "cli/run_plan.h"
#include "cli/stats_commands.h"

namespace lmover {

// Parses "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]" (local time) or "@EPOCH_SECONDS".
// Throws std::invalid_argument naming the text.
timespec parse_date(const std::string& text);

// What the command line asks for: the plan of its verb (a pass verb: RunPlan; worker, wait,
// status, control, broker init: BrokerPlan; stats show/graphite: StatsPlan), or the exit code to
// use right away (help, a usage error, a setting that does not parse, all said on stderr).
using ParsedCommand = std::variant<int, RunPlan, BrokerPlan, StatsPlan>;
ParsedCommand parse_command_line(int argc, char** argv);

}  // namespace lmover
