// The Prometheus sink listens alone: a port another process (here another server) listens on is an
// error naming it, never a port shared so that scrapes alternate between two processes; and its
// series say which role counted them.
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "stats/prometheus.h"

namespace lmover {
namespace {

// A port free now on loopback (bound to 0, read back, closed).
int free_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

TEST(MetricsServer, APortInUseIsAnErrorNamingItAndTheRoleLabelsEverySeries) {
  std::string address = "127.0.0.1:" + std::to_string(free_port());
  CounterSource counters = [] { return std::vector<CounterValue>{{"node1", "copy", "files_copied", 5}}; };
  MetricsServer first(address, "worker", counters);
  try {
    MetricsServer second(address, "worker", counters);
    FAIL() << "a second server listens on " << address;
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(address + ": Address already in use"), std::string::npos) << e.what();
  }
  httplib::Client client("127.0.0.1", std::stoi(address.substr(address.find(':') + 1)));
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res) << "the first server stopped answering";
  EXPECT_NE(res->body.find("lmover_files_copied_total{pass=\"copy\",node=\"node1\",role=\"worker\"} 5"),
            std::string::npos)
      << res->body;
}

}  // namespace
}  // namespace lmover
