#include "report/pass_stats.h"

#include <utility>

namespace lmover {

uint64_t PassStats::actions() const {
  return dirs_created + files_copied + specials_created + links_made + metadata_updated + removed + dir_times_set +
         hsm_stubbed;
}

const std::vector<CounterInfo>& PassStats::table() {
  static const std::vector<CounterInfo> table = {
#define LMOVER_COUNTER_ROW(name, help) {#name, help, &PassStats::name},
      LMOVER_PASS_COUNTERS(LMOVER_COUNTER_ROW)
#undef LMOVER_COUNTER_ROW
  };
  return table;
}

const std::vector<std::string>& PassStats::names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const CounterInfo& c : table()) out.emplace_back(c.name);
    return out;
  }();
  return names;
}

std::string_view PassStats::help(std::string_view name) {
  for (const CounterInfo& c : table()) {
    if (name == c.name) return c.help;
  }
  return "";
}

CounterSet PassStats::snapshot() const {
  CounterSet out;
  const auto& rows = table();
  for (size_t i = 0; i < rows.size(); ++i) out.values[i] = (this->*rows[i].member).load(std::memory_order_relaxed);
  return out;
}

void PassStats::assign(const CounterSet& counters) {
  const auto& rows = table();
  for (size_t i = 0; i < rows.size(); ++i) (this->*rows[i].member).store(counters.values[i], std::memory_order_relaxed);
}

namespace {

// The counter's place in the table, or kCounterCount.
size_t index_of(std::string_view name) {
  const auto& rows = PassStats::table();
  size_t i = 0;
  while (i < rows.size() && name != rows[i].name) ++i;
  return i;
}

}  // namespace

bool CounterSet::add(std::string_view name, uint64_t n) {
  size_t i = index_of(name);
  if (i == kCounterCount) return false;
  values[i] += n;
  return true;
}

CounterSet& CounterSet::operator+=(const CounterSet& other) {
  for (size_t i = 0; i < kCounterCount; ++i) values[i] += other.values[i];
  return *this;
}

uint64_t CounterSet::operator[](std::string_view name) const {
  size_t i = index_of(name);
  return i == kCounterCount ? 0 : values[i];
}

nlohmann::json CounterSet::to_json() const {
  nlohmann::json out = nlohmann::json::object();
  const auto& rows = PassStats::table();
  for (size_t i = 0; i < kCounterCount; ++i) {
    if (values[i]) out[rows[i].name] = values[i];
  }
  return out;
}

CounterSet CounterSet::from_json(const nlohmann::json& counters) {
  CounterSet out;
  for (const auto& [key, value] : counters.items()) out.add(key, value.get<uint64_t>());
  return out;
}

std::vector<std::pair<std::string_view, uint64_t>> PassStats::nonzero() const {
  std::vector<std::pair<std::string_view, uint64_t>> out;
  for (const auto& [key, help, member] : table()) {
    if (uint64_t n = (this->*member).load()) out.emplace_back(key, n);
  }
  return out;
}

nlohmann::json PassStats::to_json() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, help, member] : table()) out[key] = (this->*member).load();
  out["actions"] = actions();
  return out;
}

}  // namespace lmover
