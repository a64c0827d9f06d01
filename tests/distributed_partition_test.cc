// A worker node that vanishes without closing TCP (power lost, link cut): its tasks must go to
// other workers within a bounded time, thanks to AMQP heartbeats, and the pass completes exactly.
//
// The worker runs in its own network namespace, joined to this one by a veth pair. It reaches the
// broker (which listens on 127.0.0.1 only) through a socat relay bound to the host end of the
// pair, an address nothing outside this machine can reach. Cutting the namespace's end of the link
// with `ip link set down` leaves every TCP connection open and silent, which is what the broker
// sees of a node that lost power: without heartbeats it would wait for consumer_timeout (hours).
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include "distributed_support.h"
#include "tree_oracle.h"

namespace lmover::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Seconds. RabbitMQ drops a silent client between 2 and 3 heartbeat intervals after the last data
// it received (rabbit_heartbeat checks once per interval and gives up after two idle checks), so
// the cut-off worker's tasks are back in the queues within 3 intervals of the cut; the healthy
// worker then needs a moment to run them.
constexpr int kHeartbeat = 2;
// Measured: 6.4-6.6 s after the cut with a 2 s heartbeat; then 7.4-9.3 s once a complete run's
// submitter waits kRunOverGrace (0.75 s) before it moves on and workers check that a run still
// goes on before its tasks (src/distributed/worker.h).
constexpr double kRedeliveredWork = 2.0 + 1.5;

bool quiet(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

// A network namespace linked to this one by a veth pair, torn down at the end.
class Namespace {
 public:
  Namespace() {
    int n = getpid() % 250 + 1;
    name_ = "lmover-t" + std::to_string(getpid());
    host_if_ = "lmh" + std::to_string(getpid());
    ns_if_ = "lmn" + std::to_string(getpid());
    host_ip_ = "10.231." + std::to_string(n) + ".1";
    ns_ip_ = "10.231." + std::to_string(n) + ".2";
    if (!quiet("command -v ip") || !quiet("command -v socat")) {
      why_ = "ip (iproute2) or socat is not installed";
      return;
    }
    if (!quiet("ip netns add " + name_)) {
      why_ = "cannot create a network namespace here (ip netns add failed: not root, or not allowed in this container)";
      return;
    }
    made_ = true;
    ok_ = quiet("ip link add " + host_if_ + " type veth peer name " + ns_if_) &&
          quiet("ip link set " + ns_if_ + " netns " + name_) &&
          quiet("ip addr add " + host_ip_ + "/30 dev " + host_if_) && quiet("ip link set " + host_if_ + " up") &&
          quiet(in_ns("ip addr add " + ns_ip_ + "/30 dev " + ns_if_)) && quiet(in_ns("ip link set " + ns_if_ + " up")) &&
          quiet(in_ns("ip link set lo up"));
    if (!ok_) why_ = "cannot set up a veth pair into the namespace";
  }
  ~Namespace() {
    if (!made_) return;
    quiet("ip link del " + host_if_);
    quiet("ip netns del " + name_);
  }
  bool ok() const { return ok_; }
  const std::string& why() const { return why_; }
  const std::string& name() const { return name_; }
  const std::string& host_ip() const { return host_ip_; }
  std::string in_ns(const std::string& command) const { return "ip netns exec " + name_ + " " + command; }
  bool cut() const { return quiet(in_ns("ip link set " + ns_if_ + " down")); }

 private:
  std::string name_, host_if_, ns_if_, host_ip_, ns_ip_, why_;
  bool made_ = false, ok_ = false;
};

size_t entries_in(const std::string& dir) {
  size_t n = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, std::filesystem::directory_options::skip_permission_denied);
       it != std::filesystem::recursive_directory_iterator(); ++it) {
    ++n;
  }
  return n;
}

TEST_F(DistributedTest, AWorkerCutOffMidPassHasItsTasksRedeliveredWithinThreeHeartbeats) {
  Namespace ns;
  if (!ns.ok()) GTEST_SKIP() << "no network namespace, partition test skipped: " << ns.why();
  // The suite's broker URL, its host swapped for the relay's address, with a short heartbeat.
  std::string url = broker_url();
  size_t at = url.find('@') + 1, colon = url.find(':', at), slash = url.find('/', colon);
  std::string port = url.substr(colon + 1, slash - colon - 1);
  std::string relayed = url.substr(0, at) + ns.host_ip() + url.substr(colon) + "?heartbeat=" + std::to_string(kHeartbeat);
  std::string local = url + "?heartbeat=" + std::to_string(kHeartbeat);
  Process relay({"socat", "TCP-LISTEN:" + port + ",bind=" + ns.host_ip() + ",reuseaddr,fork", "TCP:127.0.0.1:" + port},
                tmp_ / "relay.log", true);

  build_wide_tree(1500, 2);
  Process cut_off({"ip", "netns", "exec", ns.name(), LMOVER_BIN, "worker", "--broker", relayed, "--prefix", prefix_, "-j", "1"},
                  tmp_ / "cut-off-worker.log", true);
  Process submitter({"copy", src_, dst_, "--broker", local, "--prefix", prefix_, "--json", tmp_ / "copy.json"},
                    tmp_ / "submitter.log");
  // Cut once the namespaced worker is well into the pass (it is the only worker until then).
  auto deadline = Clock::now() + 30s;
  while (Clock::now() < deadline && (!std::filesystem::exists(dst_) || entries_in(dst_) < 300)) std::this_thread::sleep_for(20ms);
  ASSERT_LT(Clock::now(), deadline) << "the namespaced worker never started: " << cut_off.log();
  ASSERT_TRUE(ns.cut());
  auto cut_at = Clock::now();
  auto healthy = std::make_unique<Process>(
      std::vector<std::string>{"worker", "--broker", local, "--prefix", prefix_, "-j", "2"}, tmp_ / "healthy-worker.log");

  ASSERT_EQ(submitter.wait(), 0) << submitter.log();
  double after_cut = std::chrono::duration<double>(Clock::now() - cut_at).count();
  RecordProperty("seconds_after_cut", std::to_string(after_cut));
  EXPECT_LT(after_cut, 3.0 * kHeartbeat + kRedeliveredWork) << "the cut-off worker's tasks came back too late";
  auto diffs = compare_trees(src_, dst_, OracleOptions{.dir_times = false});
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
  auto summary = nlohmann::json::parse(read_file(tmp_ / "copy.json"));
  EXPECT_EQ(summary["passes"][0]["counters"]["errors"].get<uint64_t>(), 0u) << summary.dump();

  // The healthy worker really ran tasks that the cut-off one held: the test is not vacuous.
  RunResult workers = run_lmover({"control", "workers", "--json", "--broker", local, "--prefix", prefix_}, -1, false);
  uint64_t redelivered = 0;
  size_t open = workers.output.find('['), close = workers.output.rfind(']');
  ASSERT_TRUE(open != std::string::npos && close != std::string::npos) << workers.output;
  for (const auto& answer : nlohmann::json::parse(workers.output.substr(open, close - open + 1))) {
    redelivered += answer.value("redelivered", uint64_t(0));
  }
  EXPECT_GE(redelivered, 1u) << workers.output;
}

}  // namespace
}  // namespace lmover::test
