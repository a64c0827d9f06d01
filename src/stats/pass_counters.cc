#include "stats/pass_counters.h"

namespace lmover {

std::vector<CounterValue> counters_of(const std::string& node, const std::string& pass, const PassStats& stats) {
  std::vector<CounterValue> out;
  for (const CounterInfo& c : PassStats::table()) out.push_back({node, pass, c.name, (stats.*c.member).load()});
  return out;
}

void CounterSums::add(const std::string& group, std::string_view name, uint64_t value) {
  std::lock_guard lock(mutex_);
  auto& counters = by_group_[group];
  auto it = counters.find(name);
  if (it == counters.end()) it = counters.emplace(std::string(name), 0).first;
  it->second += value;
}

}  // namespace lmover
