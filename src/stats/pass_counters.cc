#include "stats/pass_counters.h"

namespace lmover {

std::vector<CounterValue> counters_of(const std::string& node, const std::string& pass, const PassStats& stats) {
  nlohmann::json values = stats.to_json();
  std::vector<CounterValue> out;
  for (const std::string& name : counter_names()) {
    out.push_back({node, pass, name, values.value(name, uint64_t{0})});
  }
  return out;
}

void WorkTally::add(const std::string& pass, std::string_view name, uint64_t value) {
  std::lock_guard lock(mutex_);
  auto& counters = by_pass_[pass];
  auto it = counters.find(name);
  if (it == counters.end()) it = counters.emplace(std::string(name), 0).first;
  it->second += value;
}

void WorkTally::add(const std::string& pass, const PassStats& stats) {
  for (const auto& [name, value] : stats.nonzero()) add(pass, name, value);
}

std::vector<CounterValue> WorkTally::snapshot(const std::string& node) const {
  std::lock_guard lock(mutex_);
  std::vector<CounterValue> out;
  for (const auto& [pass, counters] : by_pass_) {
    for (const std::string& name : counter_names()) {
      auto it = counters.find(name);
      out.push_back({node, pass, name, it == counters.end() ? 0 : it->second});
    }
  }
  return out;
}

void NodeCounters::add(const std::string& node, const std::string& name, uint64_t value) {
  std::lock_guard lock(mutex_);
  by_node_[node][name] += value;
}

std::vector<CounterValue> NodeCounters::snapshot(const std::string& pass) const {
  std::lock_guard lock(mutex_);
  std::vector<CounterValue> out;
  for (const auto& [node, counters] : by_node_) {
    for (const std::string& name : counter_names()) {
      auto it = counters.find(name);
      out.push_back({node, pass, name, it == counters.end() ? 0 : it->second});
    }
  }
  return out;
}

}  // namespace lmover
