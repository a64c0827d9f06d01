#include "distributed/submitter.h"

#include <chrono>
#include <ctime>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "distributed/checkpoint.h"
#include "distributed/completion.h"
#include "distributed/task_queues.h"

namespace lmover {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Above RunState::kReportsPerCheckpoint: unacked reports wait for a checkpoint.
constexpr uint16_t kReportPrefetch = 1000;

std::string new_run_id() {
  std::random_device rd;
  uint64_t x = (uint64_t(rd()) << 32) ^ rd();
  return fmt::format("{:016x}", x);
}


}  // namespace


std::string state_queue(const QueueNames& queues, const std::string& run) { return queues.prefix + ".state." + run; }
std::string status_queue(const QueueNames& queues, const std::string& run) { return queues.prefix + ".status." + run; }


Submitter::Submitter(const Broker& broker, QueueNames queues, Progress progress, FailureSink failures)
    : broker_(broker), queues_(std::move(queues)), progress_(std::move(progress)), failures_(std::move(failures)) {}

DistributedResult Submitter::run(const json& spec, RootChildren root_children) {
  std::string run = new_run_id();
  if (on_submitted_) on_submitted_(run);
  try {
    BrokerRetry(retry_bound_, stop_).run("submit run " + run, [&] { submit(run, spec, root_children); });
  } catch (const BrokerRetry::Stopped&) {
    DistributedResult stopped;
    stopped.run = run;
    stopped.spec = spec;
    stopped.interrupted = true;
    return stopped;
  }
  spdlog::info("run {} submitted to {} (prefix {}); follow it elsewhere with: lmover wait --run {}", run,
               broker_.where(), queues_.prefix, run);
  return follow_with_retries(run);
}

void Submitter::submit(const std::string& run, const json& spec, const RootChildren& root_children) {
  std::unique_ptr<BrokerSession> connection = broker_.connect();
  BrokerSession& session = *connection;
  declare_task_queues(session, queues_);
  session.declare_queue(queues_.reports(run));
  session.declare_queue(state_queue(queues_, run));
  session.declare_latest_only_queue(status_queue(queues_, run));
  Checkpoint first = RunState::first_checkpoint(run, spec);
  // The checkpoint first: from now on `lmover wait --run` can follow this run. Done again after a
  // lost broker, it leaves two first checkpoints (take_checkpoint keeps the newest, which is
  // the same), two root tasks (one task id: the tracker counts its first report only) and two
  // registry records (list_runs shows a run once).
  for (const std::string& part : checkpoint_parts(first)) session.publish(state_queue(queues_, run), part);
  session.publish(status_queue(queues_, run), pack_msgpack(RunState(first).status()));
  if (root_children) {
    publish_root(session, run, spec, root_children);
  } else {
    session.publish(queues_.dirs(), encode(TaskMessage{run, spec, LineageTable{}, {QueuedTask{Task::root()}}}));
  }
  // Known to `lmover status` from now on (the record goes once the run is over: list_runs()).
  session.declare_queue(runs_queue(queues_));
  session.publish(runs_queue(queues_), pack_msgpack({{"run", run},
                                                    {"pass", spec.value("pass", "?")},
                                                    {"src", spec.value("src", "?")},
                                                    {"dst", spec.value("dst", "?")},
                                                    {"started", static_cast<int64_t>(std::time(nullptr))}}));
  session.wait_for_confirms();
}

namespace {

// The root's children as a worker would publish its leftovers (worker.cc): in bundles that name
// the root as their parent, a few tasks each so that every worker gets a share.
class RootBundles : public TaskSink {
 public:
  RootBundles(BrokerSession& session, const QueueNames& queues, const std::string& run, const json& spec)
      : session_(session), queues_(queues) {
    next_.run = run;
    next_.spec = spec;
    next_.lineage.add(LineageTable::kTop, Task::root().id);
  }
  void submit(Task task) override {
    ids.push_back(task.id);
    next_.tasks.push_back(QueuedTask{std::move(task), 0});
    if (next_.tasks.size() >= kTasksPerBundle) flush();
  }
  void flush() {
    if (next_.tasks.empty()) return;
    session_.publish(queues_.for_task(next_.tasks.front().task), encode(next_));
    next_.tasks.clear();
    // Confirms now and then: the broker's memory for unconfirmed messages stays small.
    if (++published_ % 1000 == 0) session_.wait_for_confirms();
  }
  std::vector<uint64_t> ids;

 private:
  static constexpr size_t kTasksPerBundle = 8;
  BrokerSession& session_;
  const QueueNames& queues_;
  TaskMessage next_;
  uint64_t published_ = 0;
};

}  // namespace

void Submitter::publish_root(BrokerSession& session, const std::string& run, const json& spec,
                             const RootChildren& root_children) {
  // Tasks of one kind per bundle (they travel on the queue of their kind): one sink per kind.
  RootBundles places(session, queues_, run, spec), others(session, queues_, run, spec);
  struct Split : TaskSink {
    RootBundles &places, &others;
    Split(RootBundles& p, RootBundles& o) : places(p), others(o) {}
    void submit(Task task) override {
      (task.kind == TaskKind::kPlaces || task.kind == TaskKind::kDirectory ? places : others).submit(std::move(task));
    }
  } split(places, others);
  root_children(split);
  places.flush();
  others.flush();
  // Published after its children, like a worker's: the tracker takes a child heard of first.
  ReportMessage report;
  report.run = run;
  report.node = "submitter";
  TaskResult& root = report.done.emplace_back();
  root.id = Task::root().id;
  root.children = std::move(places.ids);
  root.children.insert(root.children.end(), others.ids.begin(), others.ids.end());
  session.publish(queues_.reports(run), encode(report));
}

DistributedResult Submitter::attach(const std::string& run) { return follow_with_retries(run); }

DistributedResult Submitter::follow_with_retries(const std::string& run) {
  BrokerRetry retry(retry_bound_, stop_);
  DistributedResult result;
  try {
    retry.run("follow run " + run, [&] {
      std::unique_ptr<BrokerSession> connection = broker_.connect();
      BrokerSession& session = *connection;
      if (session.ready_messages(queues_.cancelled(run))) {  // while we were away from the broker
        result.run = run;
        result.cancelled = true;
        return;
      }
      HeldCheckpoint held = take_checkpoint(session, run);
      retry.contact();
      result = follow(session, run, std::move(held));
    });
  } catch (const BrokerRetry::Stopped&) {
    result.run = run;
    result.interrupted = true;
  }
  if (result.cancelled) {
    spdlog::warn("run {} was cancelled (lmover cancel): its remaining tasks are dropped", run);
  } else if (!result.interrupted) {
    json last = run_status(result, 0, result.tasks);
    mark_over(last, "complete");
    drop_run_queues(run, last);
  }
  // Either way the run is over: what a worker took just before is given up or done by now.
  if (!result.interrupted) std::this_thread::sleep_for(kRunOverGrace);
  return result;
}

json Submitter::cancel(const std::string& run) {
  std::unique_ptr<BrokerSession> connection = broker_.connect();
  BrokerSession& session = *connection;
  json last = status(session, run);  // throws RunNotFound
  if (last.value("state", "") == "complete") {
    throw RunNotFound(fmt::format("run {} is complete: there is nothing to cancel", run));
  }
  session.declare_queue(queues_.cancelled(run));  // first: a submitter that looks stops following
  session.delete_queue(queues_.reports(run));      // then workers see the run over (run_is_live)
  session.delete_queue(state_queue(queues_, run));
  mark_over(last, "cancelled");
  session.publish(status_queue(queues_, run), pack_msgpack(last));
  session.wait_for_confirms();
  return last;
}

json Submitter::status(const std::string& run) {
  std::unique_ptr<BrokerSession> connection = broker_.connect();
  BrokerSession& session = *connection;
  return status(session, run);
}

json Submitter::status(BrokerSession& session, const std::string& run) {
  std::string queue = status_queue(queues_, run);
  if (!session.ready_messages(queue)) {
    throw RunNotFound(fmt::format("no run {} under prefix {} on {} (finished, or never started)", run, queues_.prefix,
                                  broker_.where()));
  }
  auto d = session.get(queue);
  if (!d) throw BrokerError(fmt::format("run {}: no status yet", run));
  session.reject(d->tag, true);  // a peek: it stays for the next reader
  json status = json::from_msgpack(d->body, true, false);
  if (status.is_discarded()) throw BrokerError(fmt::format("run {}: unreadable status", run));
  return status;
}

std::vector<json> Submitter::list_runs() {
  std::unique_ptr<BrokerSession> connection = broker_.connect();
  BrokerSession& session = *connection;
  std::vector<json> runs;
  if (!session.ready_messages(runs_queue(queues_))) return runs;
  // Every record is taken unacknowledged, so that closing the session puts it back; those of runs
  // that are over (their status queue is gone) are acked instead: the registry prunes itself. So
  // is a second record of one run (a submission done again after a lost broker).
  std::set<std::string> seen_runs;
  while (auto d = session.get(runs_queue(queues_))) {
    json record = json::from_msgpack(d->body, true, false);
    if (record.is_discarded() || !record.contains("run")) {
      session.ack(d->tag);
      continue;
    }
    std::string run = record["run"].get<std::string>();
    if (!seen_runs.insert(run).second || !session.ready_messages(status_queue(queues_, run))) {
      session.ack(d->tag);
      continue;
    }
    json seen = status(session, run);
    int64_t ended = seen.value("ended", int64_t(0));
    if (ended > 0 && std::time(nullptr) - ended > std::chrono::seconds(kRunsListedFor).count()) {
      session.delete_queue(status_queue(queues_, run));  // over long enough: no longer listed
      session.delete_queue(queues_.cancelled(run));
      session.ack(d->tag);
      continue;
    }
    seen["started"] = record.value("started", int64_t(0));
    runs.push_back(std::move(seen));
  }
  return runs;
}

HeldCheckpoint Submitter::take_checkpoint(BrokerSession& session, const std::string& run) {
  std::string queue = state_queue(queues_, run);
  if (!session.ready_messages(queue)) {
    throw RunNotFound(fmt::format("no run {} under prefix {} on {} (finished, or never started)", run, queues_.prefix,
                                  broker_.where()));
  }
  auto held = lmover::take_checkpoint(session, queue);
  if (!held) {
    throw BrokerError(fmt::format("run {} is being followed by another submitter (its checkpoint is held)", run));
  }
  return std::move(*held);
}

DistributedResult Submitter::follow(BrokerSession& state, const std::string& run, HeldCheckpoint held) {
  RunState run_state(held.checkpoint);
  run_state.on_linked(linked_);
  std::vector<uint64_t> held_tags = std::move(held.tags);
  std::unique_ptr<BrokerSession> reports_connection = broker_.connect();
  BrokerSession& reports = *reports_connection;
  std::vector<uint64_t> unacked_reports;
  auto last_checkpoint = Clock::now();
  std::chrono::duration<double> checkpoint_cost{0};

  // Saved, then the reports it covers acked; then the new one held and the old one let go, so
  // that exactly one is ever held and a successor never misses a report.
  auto save_checkpoint = [&] {
    auto started = Clock::now();
    std::vector<std::string> parts = checkpoint_parts(run_state.checkpoint());
    DistributedResult& result = run_state.result();
    for (const std::string& part : parts) {
      result.largest_message = std::max(result.largest_message, part.size());
      state.publish(state_queue(queues_, run), part);
    }
    state.publish(status_queue(queues_, run), pack_msgpack(run_state.status()));
    state.wait_for_confirms();
    for (uint64_t tag : unacked_reports) reports.ack(tag);
    unacked_reports.clear();
    std::vector<uint64_t> fresh_tags;
    for (size_t i = 0; i < parts.size(); ++i) {
      auto fresh = state.get(state_queue(queues_, run));
      if (!fresh) throw BrokerError("checkpoint vanished from " + state_queue(queues_, run));
      fresh_tags.push_back(fresh->tag);
    }
    for (uint64_t tag : held_tags) state.ack(tag);
    held_tags = std::move(fresh_tags);
    last_checkpoint = Clock::now();
    checkpoint_cost = last_checkpoint - started;
  };

  reports.set_prefetch(kReportPrefetch);
  reports.consume(queues_.reports(run));
  progress_(run_state.result().counters, run_state.pending());
  auto looked = Clock::now();
  while (!run_state.complete()) {
    if (stop_ && stop_->load()) {
      // Unacked reports and the held checkpoint go back to the broker with our connections.
      run_state.result().interrupted = true;
      return run_state.result();
    }
    if (Clock::now() - looked > std::chrono::seconds(2)) {
      looked = Clock::now();
      if (state.ready_messages(queues_.cancelled(run))) {
        run_state.result().cancelled = true;
        return run_state.result();
      }
    }
    if (auto d = reports.next_delivery(std::chrono::milliseconds(500))) {
      run_state.hear(d->body, failures_, node_counts_);
      unacked_reports.push_back(d->tag);
      progress_(run_state.result().counters, run_state.pending());
    }
    if (RunState::checkpoint_due(unacked_reports.size(), Clock::now() - last_checkpoint, checkpoint_cost)) save_checkpoint();
  }
  return run_state.result();
}

void Submitter::drop_run_queues(const std::string& run, const json& last_status) {
  // Complete: the run's queues go; late duplicate reports then have nowhere to land, harmlessly.
  // Deleting a queue that is gone is no error, so a broker lost half-way means doing it all again;
  // and never following again: the run is over whatever the broker says now.
  try {
    BrokerRetry(retry_bound_).run("drop the queues of run " + run, [&] {
      std::unique_ptr<BrokerSession> connection = broker_.connect();
      BrokerSession& session = *connection;
      session.delete_queue(queues_.reports(run));
      session.delete_queue(state_queue(queues_, run));
      session.publish(status_queue(queues_, run), pack_msgpack(last_status));
      session.wait_for_confirms();
    });
  } catch (const BrokerError& e) {
    spdlog::warn("{}: the queues of run {} are left on the broker", e.what(), run);
  }
}

}  // namespace lmover
