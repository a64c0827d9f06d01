#include "distributed/run_state.h"

#include <ctime>
#include <stdexcept>

#include <spdlog/spdlog.h>

namespace lmover {

using json = nlohmann::json;

namespace {

constexpr size_t kMaxFailuresInCheckpoint = 10000;
constexpr size_t kRefusalsKept = 100;

}  // namespace

Checkpoint RunState::first_checkpoint(const std::string& run, const json& spec) {
  return Checkpoint{{{"seq", 0},
                     {"run", run},
                     {"spec", spec},
                     {"counters", json::object()},
                     {"failures", json::array()},
                     {"refused_by", json::object()}},
                    CompletionTracker(Task::root().id).save()};
}

RunState::RunState(const Checkpoint& from)
    : tracker_(CompletionTracker::load(from.tracker)), seq_(from.header.at("seq").get<uint64_t>()) {
  const json& h = from.header;
  result_.run = h.at("run").get<std::string>();
  result_.spec = h.at("spec");
  result_.tasks = tracker_.done();
  result_.counters = CounterSet::from_json(h.at("counters"));
  result_.refusals = h.value("refused_by", json::object());
  for (const auto& f : h.at("failures")) result_.failures.emplace_back(from_bytes(f.at(0)), f.at(1).get<std::string>());
}

void RunState::hear(const std::string& body, const FailureSink& failures, const NodeCounts& node_counts) {
  result_.largest_message = std::max(result_.largest_message, body.size());
  try {
    ReportMessage report = decode_report(body);
    if (report.run != result_.run) {
      spdlog::error("ignoring a report of run {} in the reports of run {}", report.run, result_.run);
    } else if (report.is_refusal()) {
      // A worker that will not run this run's tasks: said once per worker, kept for the summary.
      if (result_.refusals.contains(report.refused_by) || result_.refusals.size() >= kRefusalsKept) return;
      spdlog::warn("worker {} refuses the tasks of run {}: {}", report.refused_by, report.run, report.reason);
      result_.refusals[report.refused_by] = report.reason;
    } else {
      count(report, failures, node_counts);
    }
  } catch (const OtherVersion& e) {
    // A worker of another version refused a task of this run (its notice is all of it we can read).
    std::string who = e.sender.empty() ? "a worker" : e.sender;
    if (result_.refusals.contains(who) || result_.refusals.size() >= kRefusalsKept) return;
    spdlog::warn("worker {} cannot run the tasks of run {}: {}", who, result_.run, e.what());
    result_.refusals[who] = e.what();
  } catch (const std::invalid_argument& e) {
    spdlog::error("ignoring a malformed report of run {}: {}", result_.run, e.what());
  }
}

void RunState::count(ReportMessage& report, const FailureSink& failures, const NodeCounts& node_counts) {
  bool any_fresh = false;
  for (TaskResult& task : report.done) {
    report.lineage.lineage(task.up, lineage_);
    if (!tracker_.report(lineage_, task.id, task.children)) continue;  // counted at its first report
    any_fresh = true;
    for (const auto& [key, value] : task.counters) {
      // A counter this submitter does not know (a newer worker's) is left out of its totals.
      result_.counters.add(report.keys[key], value);
      if (node_counts) node_counts(report.node.empty() ? "unnamed" : report.node, report.keys[key], value);
    }
    for (auto& f : task.failures) {
      if (failures) failures(f.first, f.second);
      result_.failures.push_back(std::move(f));
    }
    if (linked_) {
      for (const std::string& rel : task.linked) linked_(rel);
    }
  }
  if (any_fresh) result_.messages += 2;  // the delivered bundle and this report
  result_.tasks = tracker_.done();
}

Checkpoint RunState::checkpoint() {
  json failures = json::array();
  for (size_t i = 0; i < result_.failures.size() && i < kMaxFailuresInCheckpoint; ++i) {
    failures.push_back({to_bytes(result_.failures[i].first), result_.failures[i].second});
  }
  return Checkpoint{{{"seq", ++seq_},
                     {"run", result_.run},
                     {"spec", result_.spec},
                     {"counters", result_.counters.to_json()},
                     {"failures", failures},
                     {"refused_by", result_.refusals}},
                    tracker_.save()};
}

json run_status(const DistributedResult& result, uint64_t pending, uint64_t done) {
  const json& spec = result.spec;
  return {{"run", result.run},
          {"pass", spec.value("pass", "?")},
          {"src", spec.value("src", "?")},
          {"dst", spec.value("dst", "?")},
          {"tasks_pending", pending},
          {"tasks_done", done},
          {"counters", result.counters.to_json()},
          {"refused_by", result.refusals},
          {"state", "running"}};
}

void mark_over(json& status, const char* state) {
  status["state"] = state;
  status["ended"] = static_cast<int64_t>(std::time(nullptr));
}

json RunState::status() const {
  json out = run_status(result_, tracker_.pending(), tracker_.done());
  out["tracker_nodes"] = tracker_.held();
  return out;
}

bool RunState::checkpoint_due(size_t unacked_reports, std::chrono::duration<double> since_last,
                              std::chrono::duration<double> last_cost) {
  return unacked_reports > 0 && since_last >= 20 * last_cost &&
         (unacked_reports >= kReportsPerCheckpoint || since_last >= std::chrono::seconds(2));
}

}  // namespace lmover
