// Graphite: counters (and gauges that have a Graphite path) as carbon's plaintext lines, pushed
// over TCP every interval from a thread of its own: straight from a run (`--carbon`), or from what
// every node keeps in memcached (`lmover stats graphite`, the relay).
//
// Paths are "<prefix>.<node>.<pass>.<counter>", with a "total" node summing the nodes, and
// "<prefix>.<gauge path>". Carbon keeps the last value per interval, so a push that fails is not
// sent again: the next one carries the newer values.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "stats/counter_sink.h"

namespace lmover {

// The plaintext lines for `counters` (each node, and the "total" node) and `gauges` at time `when`.
std::string graphite_lines(const std::vector<CounterValue>& counters, const std::vector<GaugeValue>& gauges,
                           const std::string& metric_prefix, int64_t when);

// Sends `text` to carbon's plaintext receiver at `address` (HOST:PORT, port 2003 by default); ""
// or the failure, naming the address and the errno text ("carbon h:1: Connection refused").
std::string send_to_carbon(const std::string& address, const std::string& text);

class GraphitePusher : public CounterSink {
 public:
  // `interval` 0: no thread, a push on each flush() only (the relay's --once).
  GraphitePusher(std::string carbon, std::string metric_prefix, std::chrono::milliseconds interval,
                 CounterSource counters, GaugeSource gauges = {});
  ~GraphitePusher() override;
  GraphitePusher(const GraphitePusher&) = delete;
  GraphitePusher& operator=(const GraphitePusher&) = delete;

  // Pushes the counters now.
  std::string flush() override;

 private:
  void loop();
  std::string push_and_say();  // with push_mutex_ held

  std::string carbon_, prefix_;
  std::chrono::milliseconds interval_;
  CounterSource counters_;
  GaugeSource gauges_;
  bool failing_ = false;
  std::mutex push_mutex_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // last: it starts once the rest is made
};

}  // namespace lmover
