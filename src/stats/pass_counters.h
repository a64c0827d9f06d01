// Where a pass's counters come from for the statistics sinks: the pass's own PassStats in an
// embedded run (this node did all of it), or, in a distributed run, the submitter's per-node sums
// of first reports (each task counted once, on the node whose report counted, even when a killed
// worker's task ran again elsewhere).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "report/pass_stats.h"
#include "stats/counter_pusher.h"

namespace lmover {

// PassStats of `pass` done on `node`, as counters.
std::vector<CounterValue> counters_of(const std::string& node, const std::string& pass, const PassStats& stats);

// Per-pass sums of the work done in this process (a worker's tasks, an embedded run's passes),
// added to from task threads and read from the metrics server's.
class WorkTally {
 public:
  void add(const std::string& pass, std::string_view name, uint64_t value);
  void add(const std::string& pass, const PassStats& stats);
  std::vector<CounterValue> snapshot(const std::string& node) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::string, uint64_t, std::less<>>> by_pass_;
};

// Per-node sums, added to from the submitter's thread and read from the pusher's.
class NodeCounters {
 public:
  void add(const std::string& node, const std::string& name, uint64_t value);
  std::vector<CounterValue> snapshot(const std::string& pass) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::string, uint64_t>> by_node_;
};

}  // namespace lmover
