#include "report/pass_stats.h"

#include <utility>

namespace lmover {

uint64_t PassStats::actions() const {
  return dirs_created + files_copied + specials_created + links_made + metadata_updated + removed + dir_times_set +
         hsm_stubbed;
}

namespace {

// Every counter by its name in JSON: one list serves both directions.
constexpr std::pair<const char*, std::atomic<uint64_t> PassStats::*> kCounters[] = {
    {"entries", &PassStats::entries},
    {"dirs_created", &PassStats::dirs_created},
    {"files_copied", &PassStats::files_copied},
    {"bytes_copied", &PassStats::bytes_copied},
    {"specials_created", &PassStats::specials_created},
    {"links_made", &PassStats::links_made},
    {"metadata_updated", &PassStats::metadata_updated},
    {"removed", &PassStats::removed},
    {"shared_names_removed", &PassStats::shared_names_removed},
    {"dir_times_set", &PassStats::dir_times_set},
    {"unchanged", &PassStats::unchanged},
    {"excluded", &PassStats::excluded},
    {"skipped_by_time", &PassStats::skipped_by_time},
    {"vanished", &PassStats::vanished},
    {"changed_during_copy", &PassStats::changed_during_copy},
    {"hsm_released", &PassStats::hsm_released},
    {"hsm_deferred", &PassStats::hsm_deferred},
    {"hsm_stubbed", &PassStats::hsm_stubbed},
    {"hsm_restored", &PassStats::hsm_restored},
    {"hsm_restored_bytes", &PassStats::hsm_restored_bytes},
    {"errors", &PassStats::errors},
    {"differences", &PassStats::differences},
};

}  // namespace

const std::vector<std::string>& PassStats::names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& [key, member] : kCounters) out.emplace_back(key);
    return out;
  }();
  return names;
}

void PassStats::add_json(const nlohmann::json& counters) {
  for (const auto& [key, member] : kCounters) {
    if (counters.contains(key)) add(this->*member, counters[key].get<uint64_t>());
  }
}

void PassStats::assign_json(const nlohmann::json& counters) {
  for (const auto& [key, member] : kCounters) {
    (this->*member).store(counters.value(key, uint64_t(0)), std::memory_order_relaxed);
  }
}

std::vector<std::pair<std::string_view, uint64_t>> PassStats::nonzero() const {
  std::vector<std::pair<std::string_view, uint64_t>> out;
  for (const auto& [key, member] : kCounters) {
    if (uint64_t n = (this->*member).load()) out.emplace_back(key, n);
  }
  return out;
}

nlohmann::json PassStats::to_json() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, member] : kCounters) out[key] = (this->*member).load();
  out["actions"] = actions();
  return out;
}

}  // namespace lmover
