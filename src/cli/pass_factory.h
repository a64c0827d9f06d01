// A pass as it travels to the workers of a distributed run: the spec (the roots as the submitter
// saw them, and the pass's options), and a worker's runner built from it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/roots.h"
#include "engine/task.h"
#include "fs/fs_identity.h"
#include "passes/pass_context.h"
#include "passes/pass_table.h"
#include "distributed/task_runner.h"
#include "stats/pass_counters.h"

namespace lmover {

// The roots of a distributed run as the submitter checked them: absolute paths and what each
// looked like (every worker must see the same before it acts).
struct RunRoots {
  std::string src, dst;
  FsIdentity src_id, dst_id;
  bool allow_empty_source = false;  // the delete guard, as the user set it
};
RunRoots run_roots(const Roots& roots, bool allow_empty_source);

// Everything a remote worker needs to run `kind` between the roots.
nlohmann::json make_spec(PassKind kind, const RunRoots& roots, const PassOptions& options);

// A worker's runner for a spec: opens the roots once and checks them (RunRefused when this node
// sees other filesystems than the submitter did, or a guard of the run fails here), then builds a
// fresh pass for every task so that each report carries that task's counters only.
// `budgets` turns a spec's "max_delete" (where the run's shared budget is) into a taker of one unit.
using SharedBudgets = std::function<std::function<bool()>(const nlohmann::json& where)>;
// `tally`, if given, adds up every task's counters (a worker's --metrics-listen).
RunnerFactory pass_runner_factory(SharedBudgets budgets, std::shared_ptr<WorkTally> tally = nullptr);

}  // namespace lmover
