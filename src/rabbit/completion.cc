#include "rabbit/completion.h"

namespace lmover {

std::vector<bool> CompletionTracker::report(const std::vector<uint64_t>& done, const std::vector<uint64_t>& children) {
  std::vector<bool> fresh(done.size(), false);
  // A duplicate may be ignored whole: its first report announced children that were all published,
  // and whatever a re-run published beyond them reports itself.
  if (done.empty() || !done_.insert(done.front()).second) return fresh;
  pending_.erase(done.front());
  fresh[0] = true;
  // A descendant run inline may have reported already on its own: a redelivered parent whose
  // first run published it as a message, then ran it again inline. Its work counts once.
  for (size_t i = 1; i < done.size(); ++i) {
    fresh[i] = done_.insert(done[i]).second;
    pending_.erase(done[i]);
  }
  for (uint64_t child : children) {
    if (!done_.count(child)) pending_.insert(child);
  }
  return fresh;
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
