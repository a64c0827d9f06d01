// Prometheus: the counters in the text exposition format (version 0.0.4), served over HTTP by
// cpp-httplib at /metrics (`--metrics-listen ADDR:PORT` on passes and on `lmover worker`).
//
// Every counter is lmover_<name>_total with `pass`, `node` and `role` labels (bytes in bytes); gauges
// (a submitter's queue depths) carry their own labels; lmover_build_info{version,commit} is 1.
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

// The exposition text for `counters` and `gauges`: HELP and TYPE once per metric family. `role`:
// SinkSettings::role.
std::string prometheus_text(const std::vector<CounterValue>& counters, const std::vector<GaugeValue>& gauges,
                            const std::string& role = "submitter");

// The Prometheus sink: scraped, so nothing to flush.
class MetricsServer : public CounterSink {
 public:
  // Listens on `address` (ADDR:PORT) at once, alone: a port another process listens on is an
  // error (cpp-httplib's default SO_REUSEPORT would let two share it, scrapes alternating between
  // them). Throws std::runtime_error naming the address and why.
  MetricsServer(const std::string& address, std::string role, CounterSource counters, GaugeSource gauges = {});
  ~MetricsServer() override;
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

// node_exporter's textfile collector (--metrics-textfile PATH): the same series as /metrics,
// written at the end of each pass, since a batch job is gone before the next scrape. Written to a
// temporary file beside PATH and renamed over it, so the collector never reads half a file.
class MetricsTextfile : public CounterSink {
 public:
  MetricsTextfile(std::string path, std::string role, CounterSource counters, GaugeSource gauges = {})
      : path_(std::move(path)), role_(std::move(role)), counters_(std::move(counters)), gauges_(std::move(gauges)) {}
  // "" or why the file could not be written, naming it.
  std::string flush() override;

 private:
  std::string path_, role_;
  CounterSource counters_;
  GaugeSource gauges_;
};

}  // namespace lmover
