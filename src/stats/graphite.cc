#include "stats/graphite.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <stdexcept>
#include <tuple>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "stats/memcached_counters.h"

namespace lmover {

std::string graphite_lines(const std::vector<CounterValue>& counters, const std::vector<GaugeValue>& gauges,
                           const std::string& metric_prefix, int64_t when) {
  std::string out;
  std::map<std::pair<std::string, std::string>, uint64_t> total;  // (pass, counter) -> sum over nodes
  for (const CounterValue& c : counters) {
    out += fmt::format("{}.{}.{}.{} {} {}\n", metric_prefix, metric_element(c.node), c.pass, c.name, c.value, when);
    total[{c.pass, c.name}] += c.value;
  }
  for (const auto& [key, value] : total) out += fmt::format("{}.total.{}.{} {} {}\n", metric_prefix, key.first, key.second, value, when);
  for (const GaugeValue& g : gauges) {
    if (!g.graphite.empty()) out += fmt::format("{}.{} {} {}\n", metric_prefix, g.graphite, g.value, when);
  }
  return out;
}

std::string send_to_carbon(const std::string& address, const std::string& text) {
  auto [host, port] = parse_host_port(address, 2003);
  addrinfo hints{}, *found = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    return fmt::format("carbon {}: {}", address, gai_strerror(rc));
  }
  int err = 0;
  int fd = -1;
  for (addrinfo* a = found; a && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
      err = errno;
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) return fmt::format("carbon {}: {}", address, std::strerror(err ? err : errno));
  for (size_t sent = 0; sent < text.size();) {
    ssize_t n = send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      err = errno;
      close(fd);
      return fmt::format("carbon {}: {}", address, std::strerror(err));
    }
    sent += static_cast<size_t>(n);
  }
  close(fd);
  return "";
}

GraphitePusher::GraphitePusher(std::string carbon, std::string metric_prefix, std::chrono::milliseconds interval,
                               CounterSource counters, GaugeSource gauges)
    : carbon_(std::move(carbon)),
      prefix_(std::move(metric_prefix)),
      interval_(interval),
      counters_(std::move(counters)),
      gauges_(std::move(gauges)) {
  parse_host_port(carbon_, 2003);  // a bad address is said now, not at the first push
  if (interval_.count() > 0) thread_ = std::thread([this] { loop(); });
}

GraphitePusher::~GraphitePusher() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::string GraphitePusher::push_and_say() {
  std::string failure;
  try {
    std::vector<CounterValue> counters = counters_();
    std::vector<GaugeValue> gauges = gauges_ ? gauges_() : std::vector<GaugeValue>{};
    failure = send_to_carbon(carbon_, graphite_lines(counters, gauges, prefix_, std::time(nullptr)));
  } catch (const std::runtime_error& e) {
    failure = e.what();  // the source could not say (memcached away, for the relay)
  }
  if (failure.empty() && failing_) spdlog::info("carbon at {} takes the counters again", carbon_);
  if (!failure.empty() && !failing_ && interval_.count() > 0) spdlog::warn("{}; trying again every {} s", failure, interval_.count() / 1000.0);
  failing_ = !failure.empty();
  return failure;
}

std::string GraphitePusher::flush() {
  std::lock_guard push_lock(push_mutex_);
  return push_and_say();
}

void GraphitePusher::loop() {
  auto pause = std::chrono::milliseconds(0);  // a first push at once: a carbon that is away is known early
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, pause, [this] { return stopping_; })) break;
    }
    flush();
    pause = interval_;
  }
  flush();  // the last values of the run
}

}  // namespace lmover
