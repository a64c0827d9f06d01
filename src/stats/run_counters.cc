#include "stats/run_counters.h"

namespace lmover {

RunCounters::Pass::Pass(RunCounters& run, std::string name, const PassStats& stats, const NodeCounters* per_node)
    : run_(run) {
  std::lock_guard lock(run_.mutex_);
  run_.pass_ = std::move(name);
  run_.stats_ = &stats;
  run_.per_node_ = per_node;
}

RunCounters::Pass::~Pass() {
  std::lock_guard lock(run_.mutex_);
  auto last = run_.current_counters();
  run_.done_.insert(run_.done_.end(), last.begin(), last.end());
  run_.stats_ = nullptr;
  run_.per_node_ = nullptr;
}

std::vector<CounterValue> RunCounters::current_counters() const {
  if (!stats_) return {};
  return per_node_ ? per_node_->snapshot(pass_) : counters_of(node_, pass_, *stats_);
}

std::vector<CounterValue> RunCounters::snapshot() const {
  std::lock_guard lock(mutex_);
  std::vector<CounterValue> out = done_;
  auto now = current_counters();
  out.insert(out.end(), now.begin(), now.end());
  return out;
}

}  // namespace lmover
