#include "stats/counter_sink.h"

#include <chrono>

#include "stats/counter_pusher.h"
#include "stats/graphite.h"
#include "stats/prometheus.h"

namespace lmover {

Sinks make_sinks(const SinkSettings& settings, CounterSource counters, GaugeSource gauges) {
  auto interval = std::chrono::milliseconds(static_cast<int64_t>(settings.interval * 1000));
  Sinks sinks;
  if (!settings.memcached.empty()) {
    sinks.push_back(std::make_unique<CounterPusher>(settings.memcached, settings.metric_prefix, interval, counters));
  }
  if (!settings.metrics_listen.empty()) {
    sinks.push_back(std::make_unique<MetricsServer>(settings.metrics_listen, settings.role, counters, gauges));
  }
  if (!settings.metrics_textfile.empty()) {
    sinks.push_back(std::make_unique<MetricsTextfile>(settings.metrics_textfile, settings.role, counters, gauges));
  }
  if (!settings.carbon.empty()) {
    sinks.push_back(std::make_unique<GraphitePusher>(settings.carbon, settings.metric_prefix, interval, counters, gauges));
  }
  return sinks;
}

std::string flush_all(Sinks& sinks) {
  std::string failures;
  for (auto& sink : sinks) {
    std::string failure = sink->flush();
    if (!failure.empty()) failures += (failures.empty() ? "" : "\n") + failure;
  }
  return failures;
}

}  // namespace lmover
