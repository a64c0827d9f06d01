// RunCounters: the counters of every pass of a run so far, as the sinks read them: the passes
// done, then the one going on. This is the one place that says where a pass's counters come from:
// its own PassStats in an embedded run (this node did all of it), or, in a distributed run, the
// submitter's per-node sums of first reports (each task counted once, on the node whose report
// counted, even when a killed worker's task ran again elsewhere).
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "report/pass_stats.h"
#include "stats/counter_sink.h"
#include "stats/pass_counters.h"

namespace lmover {

class RunCounters {
 public:
  // `node`: the name an embedded run's counters carry (this host).
  explicit RunCounters(std::string node) : node_(std::move(node)) {}
  RunCounters(const RunCounters&) = delete;
  RunCounters& operator=(const RunCounters&) = delete;

  // Shows one pass while it lives, and keeps its counts once it is over. `per_node`: the
  // submitter's sums in a distributed run, nullptr in an embedded one. Both must outlive it.
  class Pass {
   public:
    Pass(RunCounters& run, std::string name, const PassStats& stats, const NodeCounters* per_node);
    ~Pass();
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;

   private:
    RunCounters& run_;
  };

  std::vector<CounterValue> snapshot() const;
  // A source for the sinks; `this` must outlive them.
  CounterSource source() const {
    return [this] { return snapshot(); };
  }

 private:
  std::vector<CounterValue> current_counters() const;  // with mutex_ held

  std::string node_;
  mutable std::mutex mutex_;
  std::string pass_;
  const PassStats* stats_ = nullptr;  // nullptr: between passes
  const NodeCounters* per_node_ = nullptr;
  std::vector<CounterValue> done_;
};

}  // namespace lmover
