// Prometheus: the counters in the text exposition format (version 0.0.4), served over HTTP by
// cpp-httplib at /metrics (`--metrics-listen ADDR:PORT` on passes and on `lmover worker`).
//
// Every counter is lmover_<name>_total with `pass` and `node` labels (bytes in bytes); gauges (a
// submitter's queue depths) carry their own labels.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "stats/counter_sink.h"

namespace httplib {
class Server;
}

namespace lmover {

// The exposition text for `counters` and `gauges`: HELP and TYPE once per metric family.
std::string prometheus_text(const std::vector<CounterValue>& counters, const std::vector<GaugeValue>& gauges);

// The Prometheus sink: scraped, so nothing to flush.
class MetricsServer : public CounterSink {
 public:
  // Listens on `address` (ADDR:PORT) at once; throws std::runtime_error naming it if it cannot.
  MetricsServer(const std::string& address, CounterSource counters, GaugeSource gauges = {});
  ~MetricsServer() override;
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace lmover
