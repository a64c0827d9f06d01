#include "rabbit/completion.h"

namespace lmover {

bool CompletionTracker::report(uint64_t id, const std::vector<uint64_t>& children) {
  if (!done_.insert(id).second) return false;
  pending_.erase(id);
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
