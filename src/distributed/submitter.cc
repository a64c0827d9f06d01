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

constexpr size_t kMaxFailuresInCheckpoint = 10000;
constexpr size_t kReportsPerCheckpoint = 500;  // below the prefetch: unacked reports wait for a checkpoint
constexpr uint16_t kReportPrefetch = 1000;

std::string new_run_id() {
  std::random_device rd;
  uint64_t x = (uint64_t(rd()) << 32) ^ rd();
  return fmt::format("{:016x}", x);
}


}  // namespace

void add_counters(json& total, const json& delta) {
  for (const auto& [key, value] : delta.items()) {
    if (value.is_number_unsigned() || value.is_number_integer()) total[key] = total.value(key, uint64_t(0)) + value.get<uint64_t>();
  }
}


std::string state_queue(const QueueNames& queues, const std::string& run) { return queues.prefix + ".state." + run; }
std::string status_queue(const QueueNames& queues, const std::string& run) { return queues.prefix + ".status." + run; }

namespace {

json status_of(const std::string& run, const json& spec, const CompletionTracker& tracker, const DistributedResult& r) {
  return {{"run", run},
          {"pass", spec.value("pass", "?")},
          {"src", spec.value("src", "?")},
          {"dst", spec.value("dst", "?")},
          {"tasks_pending", tracker.pending()},
          {"tasks_done", tracker.done()},
          {"tracker_nodes", tracker.held()},
          {"counters", r.counters},
          {"refused_by", r.refusals}};
}

// A worker that will not run this run's tasks: said once per worker, kept for status and summary.
void note_refusal(DistributedResult& result, const ReportMessage& notice) {
  constexpr size_t kRefusalsKept = 100;
  if (result.refusals.contains(notice.refused_by) || result.refusals.size() >= kRefusalsKept) return;
  spdlog::warn("worker {} refuses the tasks of run {}: {}", notice.refused_by, notice.run, notice.reason);
  result.refusals[notice.refused_by] = notice.reason;
}

}  // namespace

Submitter::Submitter(const Broker& broker, QueueNames queues, Progress progress, FailureSink failures)
    : broker_(broker), queues_(std::move(queues)), progress_(std::move(progress)), failures_(std::move(failures)) {}

DistributedResult Submitter::run(const json& spec) {
  std::string run = new_run_id();
  if (on_submitted_) on_submitted_(run);
  try {
    BrokerRetry(retry_bound_, stop_).run("submit run " + run, [&] { submit(run, spec); });
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

void Submitter::submit(const std::string& run, const json& spec) {
  std::unique_ptr<BrokerSession> connection = broker_.connect();
  BrokerSession& session = *connection;
  declare_task_queues(session, queues_);
  session.declare_queue(queues_.reports(run));
  session.declare_queue(state_queue(queues_, run));
  session.declare_latest_only_queue(status_queue(queues_, run));
  Task root = Task::root();
  Checkpoint first{{{"seq", 0},
                     {"run", run},
                     {"spec", spec},
                     {"counters", json::object()},
                     {"failures", json::array()},
                     {"refused_by", json::object()}},
                    CompletionTracker(root.id).save()};
  // The checkpoint first: from now on `lmover wait --run` can follow this run. Done again after a
  // lost broker, it leaves two first checkpoints (take_checkpoint keeps the newest, which is
  // the same), two root tasks (one task id: the tracker counts its first report only) and two
  // registry records (list_runs shows a run once).
  for (const std::string& part : checkpoint_parts(first)) session.publish(state_queue(queues_, run), part);
  session.publish(status_queue(queues_, run), pack_msgpack(status_of(run, spec, CompletionTracker(root.id), DistributedResult{})));
  session.publish(queues_.dirs(), encode(TaskMessage{run, spec, LineageTable{}, {QueuedTask{root}}}));
  // Known to `lmover status` from now on (the record goes once the run is over: list_runs()).
  session.declare_queue(runs_queue(queues_));
  session.publish(runs_queue(queues_), pack_msgpack({{"run", run},
                                                    {"pass", spec.value("pass", "?")},
                                                    {"src", spec.value("src", "?")},
                                                    {"dst", spec.value("dst", "?")},
                                                    {"started", static_cast<int64_t>(std::time(nullptr))}}));
  session.wait_for_confirms();
}

DistributedResult Submitter::attach(const std::string& run) { return follow_with_retries(run); }

DistributedResult Submitter::follow_with_retries(const std::string& run) {
  BrokerRetry retry(retry_bound_, stop_);
  DistributedResult result;
  try {
    retry.run("follow run " + run, [&] {
      std::unique_ptr<BrokerSession> connection = broker_.connect();
      BrokerSession& session = *connection;
      HeldCheckpoint held = take_checkpoint(session, run);
      retry.contact();
      result = follow(session, run, std::move(held));
    });
  } catch (const BrokerRetry::Stopped&) {
    result.run = run;
    result.interrupted = true;
  }
  if (!result.interrupted) {
    drop_run_queues(run);
    std::this_thread::sleep_for(kRunOverGrace);
  }
  return result;
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
  const json& checkpoint = held.checkpoint.header;
  std::vector<uint64_t> held_tags = std::move(held.tags);
  std::unique_ptr<BrokerSession> reports_connection = broker_.connect();
  BrokerSession& reports = *reports_connection;
  DistributedResult result;
  result.run = run;
  result.spec = checkpoint.at("spec");
  CompletionTracker tracker = CompletionTracker::load(held.checkpoint.tracker);
  result.counters = checkpoint.at("counters");
  result.refusals = checkpoint.value("refused_by", json::object());
  for (const auto& f : checkpoint.at("failures")) result.failures.emplace_back(from_bytes(f.at(0)), f.at(1).get<std::string>());
  uint64_t seq = checkpoint.at("seq").get<uint64_t>();
  const json spec = checkpoint.at("spec");
  std::vector<uint64_t> unacked_reports;
  auto last_checkpoint = Clock::now();
  // A checkpoint costs O(tasks in flight). One is due after 500 reports or 2 s, but never sooner
  // than 20 times the last one took, so that saving stays under about 5% of the submitter's time.
  std::chrono::duration<double> checkpoint_cost{0};
  std::vector<uint64_t> lineage;

  auto save_checkpoint = [&] {
    json failures = json::array();
    for (size_t i = 0; i < result.failures.size() && i < kMaxFailuresInCheckpoint; ++i) {
      failures.push_back({to_bytes(result.failures[i].first), result.failures[i].second});
    }
    auto started = Clock::now();
    Checkpoint cp{{{"seq", ++seq},
                   {"run", run},
                   {"spec", spec},
                   {"counters", result.counters},
                   {"failures", failures},
                   {"refused_by", result.refusals}},
                  tracker.save()};
    std::vector<std::string> parts = checkpoint_parts(cp);
    for (const std::string& part : parts) {
      result.largest_message = std::max(result.largest_message, part.size());
      state.publish(state_queue(queues_, run), part);
    }
    state.publish(status_queue(queues_, run), pack_msgpack(status_of(run, spec, tracker, result)));
    state.wait_for_confirms();
    for (uint64_t tag : unacked_reports) reports.ack(tag);
    unacked_reports.clear();
    // Hold the new checkpoint, let the old one go: exactly one is ever held.
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
  progress_(result.counters, tracker.pending());
  while (!tracker.complete()) {
    if (stop_ && stop_->load()) {
      // Unacked reports and the held checkpoint go back to the broker with our connections.
      result.interrupted = true;
      result.tasks = tracker.done();
      return result;
    }
    if (auto d = reports.next_delivery(std::chrono::milliseconds(500))) {
      result.largest_message = std::max(result.largest_message, d->body.size());
      try {
        ReportMessage report = decode_report(d->body);
        if (report.run != run) {
          spdlog::error("ignoring a report of run {} on {}", report.run, queues_.reports(run));
        } else if (report.is_refusal()) {
          note_refusal(result, report);
        } else {
          bool any_fresh = false;
          for (TaskResult& task : report.done) {
            report.lineage.lineage(task.up, lineage);
            if (!tracker.report(lineage, task.id, task.children)) continue;  // counted at its first report
            any_fresh = true;
            for (const auto& [key, value] : task.counters) {
              json& total = result.counters[report.keys[key]];
              total = (total.is_null() ? 0 : total.get<uint64_t>()) + value;
              if (node_counts_) node_counts_(report.node.empty() ? "unnamed" : report.node, report.keys[key], value);
            }
            for (auto& f : task.failures) {
              failures_(f.first, f.second);
              result.failures.push_back(std::move(f));
            }
          }
          if (any_fresh) result.messages += 2;  // the delivered bundle and this report
        }
      } catch (const std::invalid_argument& e) {
        spdlog::error("ignoring a malformed report on {}: {}", queues_.reports(run), e.what());
      }
      unacked_reports.push_back(d->tag);
      progress_(result.counters, tracker.pending());
    }
    auto since = Clock::now() - last_checkpoint;
    if (!unacked_reports.empty() && since >= 20 * checkpoint_cost &&
        (unacked_reports.size() >= kReportsPerCheckpoint || since >= std::chrono::seconds(2))) {
      save_checkpoint();
    }
  }
  result.tasks = tracker.done();
  return result;
}

void Submitter::drop_run_queues(const std::string& run) {
  // Complete: the run's queues go; late duplicate reports then have nowhere to land, harmlessly.
  // Deleting a queue that is gone is no error, so a broker lost half-way means doing it all again;
  // and never following again: the run is over whatever the broker says now.
  try {
    BrokerRetry(retry_bound_).run("drop the queues of run " + run, [&] {
      std::unique_ptr<BrokerSession> connection = broker_.connect();
      BrokerSession& session = *connection;
      session.delete_queue(queues_.reports(run));
      session.delete_queue(state_queue(queues_, run));
      session.delete_queue(status_queue(queues_, run));
    });
  } catch (const BrokerError& e) {
    spdlog::warn("{}: the queues of run {} are left on the broker", e.what(), run);
  }
}

}  // namespace lmover
