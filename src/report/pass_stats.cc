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

void PassStats::add_json(const nlohmann::json& counters) {
  for (const auto& [key, help, member] : table()) {
    if (counters.contains(key)) add(this->*member, counters[key].get<uint64_t>());
  }
}

void PassStats::assign_json(const nlohmann::json& counters) {
  for (const auto& [key, help, member] : table()) {
    (this->*member).store(counters.value(key, uint64_t(0)), std::memory_order_relaxed);
  }
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
