#include "cli/stats_commands.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <ctime>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli/broker_commands.h"
#include "cli/interrupt.h"
#include "cli/run_plan.h"
#include "amqp/amqp_session.h"
#include "distributed/task_queues.h"
#include "stats/counter_reader.h"
#include "stats/counter_sink.h"

namespace lmover {
namespace {

using json = nlohmann::json;

uint64_t value(const CounterTable& t, const std::string& node, const std::string& pass, const std::string& name) {
  auto n = t.find(node);
  if (n == t.end()) return 0;
  auto p = n->second.find(pass);
  if (p == n->second.end()) return 0;
  auto c = p->second.find(name);
  return c == p->second.end() ? 0 : c->second;
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (b >= 1024 && u < 5) b /= 1024, ++u;
  return fmt::format("{:.1f} {}", b, units[u]);
}

int show(const StatsPlan& plan, MemcachedCounters& client) {
  auto first = read_counters(client, plan.metric_prefix);
  if (!first) {
    spdlog::error("{}", client.last_error());
    return kExitFatal;
  }
  CounterTable now = *first;
  double seconds = 0;
  if (plan.interval > 0) {
    auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(plan.interval));
    auto second = read_counters(client, plan.metric_prefix);
    if (!second) {
      spdlog::error("{}", client.last_error());
      return kExitFatal;
    }
    now = *second;
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  auto rate = [&](const std::string& node, const std::string& pass, const std::string& name) {
    return seconds > 0 ? (value(now, node, pass, name) - std::min(value(now, node, pass, name), value(*first, node, pass, name))) / seconds : 0.0;
  };
  if (plan.json) {
    json doc = {{"counters", now}};
    if (seconds > 0) {
      json rates = json::object();
      for (const auto& [node, passes] : now) {
        for (const auto& [pass, counters] : passes) {
          for (const auto& [name, v] : counters) rates[node][pass][name] = rate(node, pass, name);
        }
      }
      doc["rates_per_second"] = rates;
      doc["seconds"] = seconds;
    }
    std::printf("%s\n", doc.dump(2).c_str());
    return kExitOk;
  }
  if (now.empty()) {
    std::printf("no counters under '%s' in memcached %s yet\n", plan.metric_prefix.c_str(), plan.memcached.c_str());
    return kExitOk;
  }
  std::printf("%-20s %-8s %12s %12s %12s %10s %10s %8s%s\n", "node", "pass", "entries", "files", "bytes", "dirs",
              "removed", "errors", seconds > 0 ? "      files/s      bytes/s" : "");
  for (const auto& [node, passes] : now) {
    for (const auto& [pass, counters] : passes) {
      std::string rates = seconds > 0 ? fmt::format(" {:12.0f} {:>12}", rate(node, pass, "files_copied"),
                                                    human_bytes(rate(node, pass, "bytes_copied")) + "/s")
                                      : "";
      std::printf("%-20s %-8s %12llu %12llu %12s %10llu %10llu %8llu%s\n", node.c_str(), pass.c_str(),
                  static_cast<unsigned long long>(value(now, node, pass, "entries")),
                  static_cast<unsigned long long>(value(now, node, pass, "files_copied")),
                  human_bytes(static_cast<double>(value(now, node, pass, "bytes_copied"))).c_str(),
                  static_cast<unsigned long long>(value(now, node, pass, "dirs_created")),
                  static_cast<unsigned long long>(value(now, node, pass, "removed")),
                  static_cast<unsigned long long>(value(now, node, pass, "errors")), rates.c_str());
    }
  }
  return kExitOk;
}

// The relay: a Graphite sink whose counters come from every node's in memcached.
int graphite(const StatsPlan& plan) {
  if (plan.carbon.empty()) {
    spdlog::error("stats graphite needs --carbon HOST:PORT (or 'graphite' in the config file)");
    return kExitFatal;
  }
  catch_interrupts();
  GaugeSource gauges;
  if (!plan.broker.empty()) {
    // Resolved once (its password file read once), when first needed.
    gauges = [&plan, broker = std::optional<AmqpBroker>()]() mutable {
      try {
        if (!broker) broker = broker_for(plan.broker);
        return task_queue_gauges(*broker, QueueNames{plan.broker.prefix});
      } catch (const BrokerError& e) {
        spdlog::warn("queue depths left out: {}", e.what());
        return std::vector<GaugeValue>{};
      }
    };
  }
  SinkSettings settings;
  settings.carbon = plan.carbon;
  settings.metric_prefix = plan.metric_prefix;
  settings.interval = plan.once ? 0 : plan.interval;  // --once: no thread, one push below
  Sinks sinks = make_sinks(settings, memcached_source(plan.memcached, plan.metric_prefix), gauges);
  if (plan.once) {
    std::string failure = flush_all(sinks);
    if (!failure.empty()) spdlog::error("{}", failure);
    return failure.empty() ? kExitOk : kExitFatal;
  }
  while (!interrupt_signal()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return kExitOk;
}

}  // namespace

int execute(const StatsPlan& plan) {
  if (plan.memcached.empty()) {
    spdlog::error("stats {} needs --memcached HOST:PORT (or 'memcached' in the config file)", plan.command);
    return kExitFatal;
  }
  if (plan.command == "graphite") return graphite(plan);
  MemcachedCounters client(plan.memcached);
  return show(plan, client);
}

}  // namespace lmover
