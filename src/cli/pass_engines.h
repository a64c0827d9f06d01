// A pass on an engine: the embedded one (threads in this process) or the distributed one (the
// workers of a broker, followed to the end by a Submitter). A changelog-driven pass runs in
// ChangedPlacesPass's phases on either: on the embedded engine the slices of the spool are tasks;
// over a broker each phase is a run whose root this process runs, its places carried in the tasks.
#pragma once

#include <nlohmann/json.hpp>

#include "cli/changelog_run.h"
#include "cli/pass_factory.h"
#include "cli/run_plan.h"
#include "cli/target_lock.h"
#include "distributed/broker.h"
#include "passes/pass_context.h"
#include "report/failure_log.h"
#include "stats/run_counters.h"

namespace lmover {

// `changelog`: a changelog-driven run (nullptr, or no places for this pass: the whole tree).
void run_embedded(PassKind kind, const PassContext& ctx, unsigned threads, ChangelogRun* changelog);

// Returns what the summary should say of the run beyond its counters (its run ids, tasks,
// messages, refusals). `lock` is kept while a run may write the target; `per_node` gets each
// node's counters; `changelog` as for run_embedded. Throws BrokerError.
nlohmann::json run_distributed(PassKind kind, const PassContext& ctx, const RunPlan& plan, const Broker& broker,
                               const RunRoots& roots, FailureLog& failures, TargetLock* lock, NodeCounters& per_node,
                               ChangelogRun* changelog);

}  // namespace lmover
