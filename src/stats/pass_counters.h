// A pass's counters as the statistics sinks read them (CounterValue rows), and the sums by node or
// by pass that a distributed run keeps: a submitter's per node (NodeCounters), a worker's per pass
// (WorkTally). RunCounters (run_counters.h) chooses between them.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "report/pass_stats.h"
#include "stats/counter_sink.h"

namespace lmover {

// PassStats of `pass` done on `node`, as counters.
std::vector<CounterValue> counters_of(const std::string& node, const std::string& pass, const PassStats& stats);

// Sums of the counters by group (a pass, or a node), added to from task or submitter threads and
// read from the pusher's or the metrics server's.
class CounterSums {
 public:
  void add(const std::string& group, std::string_view name, uint64_t value);
  // Every counter of PassStats::names() of every group (0 if never added), as CounterValues that
  // `make` builds from (group, name, value).
  template <typename Make>
  std::vector<CounterValue> each(Make make) const {
    std::lock_guard lock(mutex_);
    std::vector<CounterValue> out;
    for (const auto& [group, counters] : by_group_) {
      for (const std::string& name : PassStats::names()) {
        auto it = counters.find(name);
        out.push_back(make(group, name, it == counters.end() ? 0 : it->second));
      }
    }
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::string, uint64_t, std::less<>>> by_group_;
};

// Per-pass sums of the work done in this process (a worker's tasks).
class WorkTally {
 public:
  // Every counter of `passes` is there from the start, at 0: a dashboard's rate() of a worker that
  // has not worked yet is 0, not a gap, and a series is never born mid-run.
  explicit WorkTally(const std::vector<std::string>& passes = {}) {
    for (const std::string& pass : passes) sums_.add(pass, PassStats::names().front(), 0);
  }
  void add(const std::string& pass, const PassStats& stats) {
    for (const auto& [name, value] : stats.nonzero()) sums_.add(pass, name, value);
  }
  std::vector<CounterValue> snapshot(const std::string& node) const {
    return sums_.each([&](const std::string& pass, const std::string& name, uint64_t v) {
      return CounterValue{node, pass, name, v};
    });
  }

 private:
  CounterSums sums_;
};

// Per-node sums of one pass (a distributed submitter's first reports).
class NodeCounters {
 public:
  void add(const std::string& node, const std::string& name, uint64_t value) { sums_.add(node, name, value); }
  std::vector<CounterValue> snapshot(const std::string& pass) const {
    return sums_.each([&](const std::string& node, const std::string& name, uint64_t v) {
      return CounterValue{node, pass, name, v};
    });
  }

 private:
  CounterSums sums_;
};

}  // namespace lmover
