#include "stats/counter_reader.h"

#include <cstdlib>
#include <vector>

#include "report/pass_stats.h"

#include <fmt/format.h>

namespace lmover {
namespace {

const char* const kPasses[] = {"copy", "delete", "dirtime"};

}  // namespace

std::optional<CounterTable> read_counters(MemcachedCounters& client, const std::string& metric_prefix) {
  auto listed = client.get({metric_prefix + ".nodes"});
  if (!listed) return std::nullopt;
  std::vector<std::string> nodes;
  const std::string text = listed->count(metric_prefix + ".nodes") ? listed->at(metric_prefix + ".nodes") : "";
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    if (end > pos) nodes.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  CounterTable table;
  for (const std::string& node : nodes) {
    std::vector<std::string> keys;
    for (const char* pass : kPasses) {
      for (const std::string& name : PassStats::names()) keys.push_back(fmt::format("{}.{}.{}.{}", metric_prefix, node, pass, name));
    }
    auto values = client.get(keys);
    if (!values) return std::nullopt;
    for (const auto& [key, value] : *values) {
      // key = prefix.node.pass.name
      std::string rest = key.substr(metric_prefix.size() + node.size() + 2);
      size_t dot = rest.find('.');
      uint64_t v = std::strtoull(value.c_str(), nullptr, 10);
      table[node][rest.substr(0, dot)][rest.substr(dot + 1)] = v;
      table["total"][rest.substr(0, dot)][rest.substr(dot + 1)] += v;
    }
  }
  return table;
}

std::string graphite_lines(const CounterTable& table, const std::string& metric_prefix, int64_t when) {
  std::string out;
  for (const auto& [node, passes] : table) {
    for (const auto& [pass, counters] : passes) {
      for (const auto& [name, value] : counters) out += fmt::format("{}.{}.{}.{} {} {}\n", metric_prefix, node, pass, name, value, when);
    }
  }
  return out;
}

std::string graphite_queue_lines(const std::map<std::string, uint64_t>& ready, const std::string& metric_prefix,
                                 int64_t when) {
  std::string out;
  for (const auto& [queue, n] : ready) out += fmt::format("{}.queues.{}.ready {} {}\n", metric_prefix, metric_element(queue), n, when);
  return out;
}

}  // namespace lmover
