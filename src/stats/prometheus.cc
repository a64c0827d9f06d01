#include "stats/prometheus.h"

#include <httplib.h>
#include <sys/socket.h>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <map>
#include <stdexcept>

#include <fmt/format.h>

#include "report/pass_stats.h"
#include "report/version.h"
#include "stats/memcached_counters.h"

namespace lmover {
namespace {

// Label values: backslash, double quote and newline escaped.
std::string escaped(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

std::string prometheus_text(const std::vector<CounterValue>& counters, const std::vector<GaugeValue>& gauges,
                            const std::string& role) {
  std::map<std::string, std::vector<const CounterValue*>> by_name;
  for (const CounterValue& c : counters) by_name[c.name].push_back(&c);
  // Which build serves these series (as node_exporter's node_exporter_build_info does).
  std::string out = fmt::format(
      "# HELP lmover_build_info the lmover build serving these series (always 1)\n# TYPE lmover_build_info gauge\n"
      "lmover_build_info{{version=\"{}\",commit=\"{}\"}} 1\n",
      escaped(lmover_version()), escaped(build_commit()));
  for (const auto& [name, values] : by_name) {
    std::string_view help = PassStats::help(name);
    std::string metric = "lmover_" + name + "_total";
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", metric, help.empty() ? std::string_view(name) : help, metric);
    for (const CounterValue* c : values) {
      out += fmt::format("{}{{pass=\"{}\",node=\"{}\",role=\"{}\"}} {}\n", metric, escaped(c->pass), escaped(c->node),
                         escaped(role), c->value);
    }
  }
  std::map<std::string, std::vector<const GaugeValue*>> gauges_by_name;
  for (const GaugeValue& g : gauges) gauges_by_name[g.name].push_back(&g);
  for (const auto& [name, values] : gauges_by_name) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", name, values.front()->help, name);
    for (const GaugeValue* g : values) {
      std::string labels;
      for (const auto& [k, v] : g->labels) labels += fmt::format("{}{}=\"{}\"", labels.empty() ? "" : ",", k, escaped(v));
      out += fmt::format("{}{{{}}} {}\n", name, labels, g->value);
    }
  }
  return out;
}

MetricsServer::MetricsServer(const std::string& address, std::string role, CounterSource counters, GaugeSource gauges)
    : server_(std::make_unique<httplib::Server>()) {
  auto [host, port] = parse_host_port(address, 9310);
  server_->Get("/metrics", [counters, gauges, role](const httplib::Request&, httplib::Response& res) {
    res.set_content(prometheus_text(counters(), gauges ? gauges() : std::vector<GaugeValue>{}, role),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  // SO_REUSEADDR only: a restart may bind while old connections linger, a second process may not.
  server_->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  errno = 0;
  if (!server_->bind_to_port(host, port)) {
    throw std::runtime_error(fmt::format("cannot listen for metrics on {}:{}: {}", host, port,
                                         errno ? std::strerror(errno) : "bind or listen failed"));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

std::string MetricsTextfile::flush() {
  std::string text = prometheus_text(counters_(), gauges_ ? gauges_() : std::vector<GaugeValue>{}, role_);
  std::string temp = path_ + ".tmp." + std::to_string(getpid());
  std::FILE* f = std::fopen(temp.c_str(), "w");
  if (!f) return fmt::format("metrics textfile '{}': {}", temp, std::strerror(errno));
  bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  int err = written ? 0 : errno;
  if (std::fclose(f) != 0 && written) err = errno, written = false;
  if (written && std::rename(temp.c_str(), path_.c_str()) != 0) err = errno, written = false;
  if (written) return "";
  std::remove(temp.c_str());
  return fmt::format("metrics textfile '{}': {}", path_, std::strerror(err));
}

MetricsServer::~MetricsServer() {
  server_->stop();
  thread_.join();
}

}  // namespace lmover
