#include "stats/counter_reader.h"

#include <cstdlib>
#include <memory>
#include <stdexcept>
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
      for (const std::string& name : PassStats::names()) {
        keys.push_back(fmt::format("{}.{}.{}.{}", metric_prefix, node, pass, name));
        // A counter never added to has no key in memcached; it is 0, and said as 0, so that a
        // dashboard shows a flat line, not "no data", for errors that did not happen.
        table[node][pass][name] += 0;
        table["total"][pass][name] += 0;
      }
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

CounterSource memcached_source(const std::string& server, const std::string& metric_prefix) {
  // The sink calls its source from one thread at a time; the client is made for it alone.
  auto client = std::make_shared<MemcachedCounters>(server);
  return [client, metric_prefix] {
    auto table = read_counters(*client, metric_prefix);
    if (!table) throw std::runtime_error(client->last_error());
    std::vector<CounterValue> out;
    for (const auto& [node, passes] : *table) {
      if (node == "total") continue;  // the sink sums the nodes itself
      for (const auto& [pass, counters] : passes) {
        for (const auto& [name, value] : counters) out.push_back({node, pass, name, value});
      }
    }
    return out;
  };
}

}  // namespace lmover
