// A pass on an engine: the embedded one (threads in this process) or the distributed one (the
// workers of a broker, followed to the end by a Submitter). A changelog-driven pass runs in
// ChangedPlacesPass's phases on either: on the embedded engine the slices of the spool are tasks;
// over a broker each phase is a run whose root this process runs, its places carried in the tasks.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

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

// What a distributed pass shows beside its counters while it runs (-1: not known yet).
struct DistributedGauges {
  std::atomic<int64_t> pending{-1};    // tasks not done, as the reports say
  std::atomic<int64_t> consumers{-1};  // worker threads consuming the task queues (ConsumerWatch)
  std::atomic<bool> paused{false};     // `lmover control pause` holds the workers
  // "120 tasks pending, 8 worker threads consuming", or why nothing moves: "no worker is
  // consuming", "workers paused", "broker unreachable"; "" before anything is known.
  std::string text() const;
};

// `changelog`: a changelog-driven run (nullptr, or no places for this pass: the whole tree).
void run_embedded(PassKind kind, const PassContext& ctx, unsigned threads, ChangelogRun* changelog);

// Returns what the summary should say of the run beyond its counters (its run ids, tasks,
// messages, refusals). `lock` is kept while a run may write the target; `per_node` gets each
// node's counters; `changelog` as for run_embedded; `gauges`, if given, what the run looks like as
// it goes. Throws BrokerError.
nlohmann::json run_distributed(PassKind kind, const PassContext& ctx, const RunPlan& plan, const Broker& broker,
                               const RunRoots& roots, FailureLog& failures, TargetLock* lock, NodeCounters& per_node,
                               ChangelogRun* changelog, DistributedGauges* gauges = nullptr);

}  // namespace lmover
