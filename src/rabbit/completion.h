// CompletionTracker: exact completion of a distributed pass, counted in task ids, never guessed
// from queue depths. Every finished task reports its id and the ids of the children it published;
// the pass is complete when every id ever announced has been reported done. Reports may arrive
// twice (redelivery) and children may report before their parent does: both are handled, because
// ids are derived deterministically from the parent (task.h).
#pragma once

#include <cstdint>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

namespace lmover {

class CompletionTracker {
 public:
  explicit CompletionTracker(uint64_t root_id) { pending_.insert(root_id); }

  // Records a report: `done` holds the delivered task's id first, then the ids of tasks the worker
  // ran itself on the way (never published); `children` the ids it published. Returns, for each
  // id of `done`, whether this is its first report (count that task's work then, and only then).
  // A report whose delivered task was reported before changes nothing and returns all false.
  std::vector<bool> report(const std::vector<uint64_t>& done, const std::vector<uint64_t>& children);
  // The delivered task `id` alone: true the first time.
  bool report(uint64_t id, const std::vector<uint64_t>& children) {
    return report(std::vector<uint64_t>{id}, children).front();
  }
  bool complete() const { return pending_.empty(); }
  size_t pending() const { return pending_.size(); }
  size_t done() const { return done_.size(); }

  // A checkpoint, so a restarted submitter picks up exactly where the last one stopped.
  nlohmann::json to_json() const;
  static CompletionTracker from_json(const nlohmann::json& j);

 private:
  CompletionTracker() = default;
  std::unordered_set<uint64_t> pending_;  // announced, not yet reported
  std::unordered_set<uint64_t> done_;     // reported (also before being announced)
};

}  // namespace lmover
