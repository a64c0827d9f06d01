// The passes by name: the one place that maps a PassKind to its TaskHandler, and a pass's
// options to and from the spec that travels with distributed tasks.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/run_plan.h"
#include "engine/task.h"
#include "passes/pass_context.h"
#include "rabbit/task_runner.h"

namespace lmover {

const char* pass_name(PassKind kind);
PassKind pass_kind(const std::string& name);  // throws std::invalid_argument

std::unique_ptr<TaskHandler> make_handler(PassKind kind, const PassContext& ctx);

// Everything a remote worker needs to run `kind` between the absolute roots `src` and `dst`.
nlohmann::json make_spec(PassKind kind, const std::string& src, const std::string& dst, const PassOptions& options);

// A worker's runner for a spec: opens the roots once, builds a fresh pass for every task so that
// each report carries that task's counters only.
RunnerFactory pass_runner_factory();

}  // namespace lmover
