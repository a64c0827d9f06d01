// Submitter: the submitting side of a distributed pass (`lmover copy ... --broker`, and
// `lmover wait` to re-attach). It publishes the root task, then consumes the reports of finished
// tasks until the CompletionTracker says every announced task is done.
//
// Its own state is checkpointed in the broker (queue <prefix>.state.<run>): reports are acked
// only after a checkpoint that includes them is confirmed, and the newest checkpoint is held
// unacked, so a killed submitter's successor resumes from it and ignores replayed reports.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "distributed/broker.h"
#include "distributed/broker_retry.h"
#include "distributed/checkpoint.h"
#include "distributed/messages.h"
#include "distributed/run_state.h"

namespace lmover {

class Submitter {
 public:
  // Called after every report with the counters so far and the number of pending tasks.
  using Progress = std::function<void(const CounterSet& counters, size_t pending)>;
  // Called once per failed entry (raw path, message), as reports arrive.
  using FailureSink = RunState::FailureSink;

  // Without `progress` and `failures`: one that only looks at runs (status, list_runs, cancel).
  Submitter(const Broker& broker, QueueNames queues, Progress progress = [](const CounterSet&, size_t) {},
            FailureSink failures = [](const std::string&, const std::string&) {});

  // Once `stop` becomes true, run() and attach() stop following and return a result marked
  // `interrupted`: the run itself goes on on the workers, and `lmover wait` can re-attach.
  void stop_when(const std::atomic<bool>& stop) { stop_ = &stop; }

  // Called for every counter of every task counted (first reports only), with the reporting node:
  // per-node statistics that count each task once, even when a redelivered task ran twice.
  using NodeCounts = RunState::NodeCounts;
  void count_by_node(NodeCounts fn) { node_counts_ = std::move(fn); }

  // Called with a new run's id just before its first task may reach the broker: from then on
  // the run may go on without us (the target lock names it).
  void on_submitted(std::function<void(const std::string& run)> fn) { on_submitted_ = std::move(fn); }

  // How long a lost broker is tried again before run() and attach() give up (BrokerRetry).
  void retry_for(std::chrono::seconds bound) { retry_bound_ = bound; }

  // Called with each hard-linked file the run's tasks met (RunState::on_linked).
  void on_linked(RunState::LinkedSink fn) { linked_ = std::move(fn); }

  // Where the root task's children come from when only this node can make them (a changelog-driven
  // pass's places, spooled here): called with a sink for them, once per submission.
  using RootChildren = std::function<void(TaskSink& sink)>;

  // A new run of the pass `spec`; prints nothing but the broker's comings and goings. Throws
  // BrokerError once the broker stayed away longer than the retry bound. With `root_children`,
  // this submitter runs the root task itself: it publishes the children and the root's report.
  DistributedResult run(const nlohmann::json& spec, RootChildren root_children = {});
  // Re-attaches to the run `run` (its submitter died) and waits for it to complete. Throws
  // RunNotFound if the broker does not know the run.
  DistributedResult attach(const std::string& run);
  // What `run` looks like now (pass, roots, pending/done tasks, counters), for `lmover status`,
  // whether its submitter is alive or not. Throws BrokerError if the run is unknown or over.
  nlohmann::json status(const std::string& run);
  // The runs under this prefix, each as status() shows it, plus "started"; those over (a "state"
  // of complete or cancelled, and "ended") stay listed for kRunsListedFor after their end.
  std::vector<nlohmann::json> list_runs();
  // Cancels `run`: marks it (QueueNames::cancelled), deletes its reports and checkpoint (workers
  // then drop its tasks as they come, and give up those in hand at their next write: see
  // Worker::run_is_live), and leaves its status saying so. Returns that status. Throws RunNotFound.
  nlohmann::json cancel(const std::string& run);
  static constexpr std::chrono::hours kRunsListedFor{24};

 private:
  // Declares the run's queues and publishes its first checkpoint, status, root task and registry
  // record, and waits for their confirms. Idempotent (same run id), so a broker lost half-way
  // means doing it all again: duplicates are harmless (see the body).
  void submit(const std::string& run, const nlohmann::json& spec, const RootChildren& root_children);
  // The root task run here: its children published in bundles, then its report.
  void publish_root(BrokerSession& session, const std::string& run, const nlohmann::json& spec,
                    const RootChildren& root_children);
  // Follows `run` to its end, reconnecting with backoff while the broker is away.
  DistributedResult follow_with_retries(const std::string& run);
  // The run's queues go, but for its status, which says it is over (`state`: complete or
  // cancelled) until list_runs() prunes it.
  void drop_run_queues(const std::string& run, const nlohmann::json& last_status);
  // `reports` consumes the run's reports; `state` (a second connection, so that waiting for its
  // confirms never meets a report delivery) publishes and holds the checkpoints.
  DistributedResult follow(BrokerSession& state, const std::string& run, HeldCheckpoint held);
  nlohmann::json status(BrokerSession& session, const std::string& run);
  // Takes the newest checkpoint of `run` (acking older ones); it stays unacked, held by us.
  HeldCheckpoint take_checkpoint(BrokerSession& session, const std::string& run);

  const Broker& broker_;
  QueueNames queues_;
  Progress progress_;
  FailureSink failures_;
  std::function<void(const std::string& run)> on_submitted_;
  NodeCounts node_counts_;
  RunState::LinkedSink linked_;
  const std::atomic<bool>* stop_ = nullptr;
  std::chrono::seconds retry_bound_ = BrokerRetry::kDefaultBound;
};

// How long a submitter waits, once its run is complete and its queues are gone, before it acts on
// the target (removes the hard-link area, starts the next pass): a duplicate task that a worker
// took just before (Worker::run_is_live) is given up or done by then (its inline budget
// is 200 ms, and it stops at its next write).
inline constexpr std::chrono::milliseconds kRunOverGrace{750};

std::string state_queue(const QueueNames& queues, const std::string& run);
// Holds only the newest status document of a run (the checkpoint itself is held by its submitter).
std::string status_queue(const QueueNames& queues, const std::string& run);
// One record per run submitted under the prefix, for `lmover status` without --run.
inline std::string runs_queue(const QueueNames& queues) { return queues.prefix + ".runs"; }

}  // namespace lmover
