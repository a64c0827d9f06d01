// Reading every node's counters back from memcached (see MemcachedCounters for the key scheme),
// for `lmover stats show` and `lmover stats graphite`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "stats/memcached_counters.h"

namespace lmover {

// node -> pass -> counter -> value; the pseudo-node "total" sums them.
using CounterTable = std::map<std::string, std::map<std::string, std::map<std::string, uint64_t>>>;

// nullopt when memcached cannot be reached (client.last_error() says why).
std::optional<CounterTable> read_counters(MemcachedCounters& client, const std::string& metric_prefix);

// Graphite's plaintext lines for `table` at time `when`: "<prefix>.<node>.<pass>.<counter> <value> <when>\n".
std::string graphite_lines(const CounterTable& table, const std::string& metric_prefix, int64_t when);

// Lines for task queue depths: "<prefix>.queues.<queue>.ready <n> <when>\n".
std::string graphite_queue_lines(const std::map<std::string, uint64_t>& ready, const std::string& metric_prefix,
                                 int64_t when);

}  // namespace lmover
