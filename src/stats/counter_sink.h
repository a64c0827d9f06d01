// CounterSink: a place the counters go while a process runs (memcached, Prometheus, Graphite), and
// make_sinks, the one place they are built, for a run, a worker and the `stats graphite` relay.
//
// A sink reads its CounterSource when it wants (a push thread every interval, an HTTP scrape), so
// a pass never waits for its statistics, and it is told when a pass is over (flush), so that what
// a push-sink holds reaches its server before the next pass starts. A new sink is its own file,
// one line in make_sinks and its setting.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace lmover {

// One counter of one pass on one node (PassStats::table() names them), as every sink reads it.
struct CounterValue {
  std::string node, pass, name;
  uint64_t value;
};

// A value that goes up and down (a task queue's depth).
struct GaugeValue {
  std::string name, help;  // Prometheus: the metric's name and HELP
  std::vector<std::pair<std::string, std::string>> labels;
  double value;
  std::string graphite;  // its path below the metric prefix ("queues.lmover_dirs.ready"); "": not sent there
};

// The counters now; called from a sink's own thread, so it must be thread-safe. It may throw
// std::runtime_error when it cannot say (memcached away, for the relay); the sink reports it.
using CounterSource = std::function<std::vector<CounterValue>()>;
using GaugeSource = std::function<std::vector<GaugeValue>()>;

class CounterSink {
 public:
  virtual ~CounterSink() = default;
  // A pass is over: push what is left now (bounded in time; a sink that serves scrapes has
  // nothing to do). Returns "" or why not everything went out, naming the server.
  virtual std::string flush() { return ""; }
};

// Where the counters go; an empty address means no such sink.
struct SinkSettings {
  std::string memcached;       // HOST:PORT, pushed every `interval` (the original tool's store)
  std::string metrics_listen;  // ADDR:PORT served at /metrics (Prometheus)
  std::string metrics_textfile;  // PATH for node_exporter's textfile collector, written after each pass
  std::string carbon;          // HOST:PORT of carbon's plaintext receiver, pushed every `interval`
  std::string metric_prefix = "lmover";
  double interval = 30;        // seconds between pushes
  // Prometheus' `role` label: "submitter" (a run's counts, each task once) or "worker" (what one
  // worker did, redone tasks again), so that a dashboard never adds the two up.
  std::string role = "submitter";

  bool empty() const { return memcached.empty() && metrics_listen.empty() && carbon.empty() && metrics_textfile.empty(); }
};

using Sinks = std::vector<std::unique_ptr<CounterSink>>;

// The sinks `settings` ask for, each reading `counters` (and `gauges`, where it has a place for
// them). Throws std::runtime_error naming the address when one cannot start (a metrics port in use).
Sinks make_sinks(const SinkSettings& settings, CounterSource counters, GaugeSource gauges = {});

// Flushes every sink; the failures, one a line ("" when all went out).
std::string flush_all(Sinks& sinks);

}  // namespace lmover
