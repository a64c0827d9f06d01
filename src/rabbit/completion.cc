#include "rabbit/completion.h"

namespace lmover {

bool CompletionTracker::report(const std::vector<uint64_t>& done, const std::vector<uint64_t>& children) {
  // A duplicate may be ignored whole: its first report announced children that were all published,
  // and whatever a re-run published beyond them reports itself.
  if (done.empty() || !done_.insert(done.front()).second) return false;
  for (uint64_t id : done) {
    done_.insert(id);
    pending_.erase(id);
  }
  for (uint64_t child : children) {
    if (!done_.count(child)) pending_.insert(child);
  }
  return true;
}

nlohmann::json CompletionTracker::to_json() const {
  return {{"pending", std::vector<uint64_t>(pending_.begin(), pending_.end())},
          {"done", std::vector<uint64_t>(done_.begin(), done_.end())}};
}

CompletionTracker CompletionTracker::from_json(const nlohmann::json& j) {
  CompletionTracker t;
  for (uint64_t id : j.at("pending")) t.pending_.insert(id);
  for (uint64_t id : j.at("done")) t.done_.insert(id);
  return t;
}

}  // namespace lmover
