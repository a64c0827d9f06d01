// Reading every node's counters back from memcached (see MemcachedCounters for the key scheme),
// for `lmover stats show` and `lmover stats graphite`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "stats/counter_sink.h"
#include "stats/memcached_counters.h"

namespace lmover {

// node -> pass -> counter -> value; the pseudo-node "total" sums them.
using CounterTable = std::map<std::string, std::map<std::string, std::map<std::string, uint64_t>>>;

// nullopt when memcached cannot be reached (client.last_error() says why).
std::optional<CounterTable> read_counters(MemcachedCounters& client, const std::string& metric_prefix);

// Every node's counters in the memcached at `server` (the "total" pseudo-node left out), as a sink
// reads them: the relay's source. Throws std::runtime_error naming the server when it cannot be read.
CounterSource memcached_source(const std::string& server, const std::string& metric_prefix);

}  // namespace lmover
