// RunState: what a submitter knows of its run, with no broker and no clock of its own: the
// completion tracker, the counters summed over first reports, the failures and refusals heard,
// and the checkpoint that saves it all. Submitter::follow feeds it the reports it consumes and
// decides, with checkpoint_due(), when to save; this file decides what a report means.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "distributed/checkpoint.h"
#include "distributed/completion.h"
#include "distributed/messages.h"
#include "report/pass_stats.h"

namespace lmover {

struct DistributedResult {
  std::string run;
  nlohmann::json spec;
  uint64_t tasks = 0;     // distinct tasks that ran
  uint64_t messages = 0;  // task messages and reports that carried them (this submitter's view)
  size_t largest_message = 0;  // bytes: the biggest report or checkpoint this submitter handled
  CounterSet counters;  // summed over first reports only
  std::vector<std::pair<std::string, std::string>> failures;
  nlohmann::json refusals = nlohmann::json::object();  // worker (host:pid) -> why it refused the run
  bool interrupted = false;  // stopped following before the run was complete
  bool cancelled = false;    // `lmover cancel --run` ended it: its remaining tasks are dropped
};

// What `lmover status` shows of a run: `result` so far, `pending` and `done` tasks, "state" running.
nlohmann::json run_status(const DistributedResult& result, uint64_t pending, uint64_t done);
// The status of a run that is over: its "state" (complete, cancelled) and when it "ended".
void mark_over(nlohmann::json& status, const char* state);

class RunState {
 public:
  // Called once per failed entry (raw path, message) of a task counted.
  using FailureSink = std::function<void(const std::string& path, const std::string& message)>;
  // Called for every counter of every task counted, with the reporting node.
  using NodeCounts = std::function<void(const std::string& node, const std::string& key, uint64_t value)>;

  // The first checkpoint of a new run: nothing heard yet, the root task pending.
  static Checkpoint first_checkpoint(const std::string& run, const nlohmann::json& spec);
  // Resumes from a checkpoint (the first one, or a later one a killed submitter left).
  explicit RunState(const Checkpoint& from);

  // Called with each hard-linked file a counted task met (TaskOutcome::linked). Not checkpointed:
  // only the submitter that asked for them (a changelog-driven copy, which follows them once the
  // run is complete) listens.
  using LinkedSink = std::function<void(const std::string& rel)>;
  void on_linked(LinkedSink sink) { linked_ = std::move(sink); }

  // Takes one report body. Tasks already counted (a redelivered task reported again) count
  // nothing; a malformed report or one of another run is said and ignored.
  void hear(const std::string& body, const FailureSink& failures, const NodeCounts& node_counts);

  bool complete() const { return tracker_.complete(); }
  size_t pending() const { return tracker_.pending(); }
  // The next checkpoint (its seq one higher than the last).
  Checkpoint checkpoint();
  // What `lmover status` shows of the run.
  nlohmann::json status() const;

  // A checkpoint costs O(tasks in flight). One is due after `kReportsPerCheckpoint` reports or
  // 2 s, but never sooner than 20 times the last one took, so that saving stays under about 5%
  // of the submitter's time.
  static constexpr size_t kReportsPerCheckpoint = 500;
  static bool checkpoint_due(size_t unacked_reports, std::chrono::duration<double> since_last,
                             std::chrono::duration<double> last_cost);

  DistributedResult& result() { return result_; }

 private:
  void count(ReportMessage& report, const FailureSink& failures, const NodeCounts& node_counts);

  DistributedResult result_;
  LinkedSink linked_;
  CompletionTracker tracker_;
  uint64_t seq_;
  std::vector<uint64_t> lineage_;  // scratch, kept for its capacity
};

}  // namespace lmover
