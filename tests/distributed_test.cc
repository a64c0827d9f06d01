// The RabbitMQ engine against a real broker started by the suite (tests/services.sh): exact
// clones with several workers, workers killed -9 mid-pass, a killed submitter re-attached, a broker
// restarted mid-pass, a dead broker, and a foreign message dead-lettered.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "nasty_tree.h"
#include "amqp/amqp_session.h"
#include "distributed/checkpoint.h"
#include "distributed/messages.h"
#include "distributed_support.h"
#include "test_support.h"
#include "tree_oracle.h"

namespace lmover::test {
namespace {

using namespace std::chrono_literals;

TEST_F(DistributedTest, TwoWorkersMakeAnExactCloneAndAReRunDoesNothing) {
  build_nasty_tree(src_);
  auto a = worker(), b = worker();
  RunResult r = run_lmover(pass("sync"));
  ASSERT_EQ(r.exit_code, 0) << r.output << a->log() << b->log();
  auto diffs = compare_trees(src_, dst_);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
  EXPECT_GT(r.counter("copy", "files_copied"), 30u);

  // A no-op sync over the broker changes nothing, not even a ctime: on Lustre each needless
  // setattr (a dirtime on a directory whose times already match) is a metadata-server round trip.
  auto before = ctimes(dst_);
  RunResult again = run_lmover(pass("sync"));
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(again.actions("copy") + again.actions("delete") + again.actions("dirtime"), 0u) << again.output;
  EXPECT_GT(again.counter("dirtime", "unchanged"), 5u) << again.output;
  EXPECT_EQ(before, ctimes(dst_)) << "a no-op sync over the broker changed a ctime on the target";
}

TEST_F(DistributedTest, CountersMatchTheEmbeddedEngine) {
  build_wide_tree(20, 30);
  auto a = worker();
  RunResult remote = run_lmover(pass("copy"));
  ASSERT_EQ(remote.exit_code, 0) << remote.output;
  std::string local_dst = tmp_ / "local";
  RunResult local = run_lmover({"copy", src_, local_dst});
  ASSERT_EQ(local.exit_code, 0);
  for (const char* counter : {"entries", "files_copied", "bytes_copied", "dirs_created", "links_made", "errors"}) {
    EXPECT_EQ(remote.counter("copy", counter), local.counter("copy", counter)) << counter;
  }
}

TEST_F(DistributedTest, WorkersKilledMidPassLoseNothing) {
  build_wide_tree(60, 40);
  std::mt19937 rng(std::random_device{}());
  const char* soak = getenv("LMOVER_KILL_TRIALS");  // tests/soak/kill_workers.sh asks for more
  int trials = soak ? atoi(soak) : 3;
  for (int trial = 0; trial < trials; ++trial) {
    run_shell("rm -rf '" + dst_ + "'");
    auto a = worker(), b = worker();
    Process submitter(pass("sync"), tmp_ / "submitter.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 600));
    a->kill9();  // mid-task: its unacked task goes back to the queue
    auto c = worker();
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 400));
    b->kill9();
    auto d = worker();
    EXPECT_EQ(submitter.wait(), 0) << submitter.log();
    auto diffs = compare_trees(src_, dst_);
    ASSERT_TRUE(diffs.empty()) << "trial " << trial << ": " << diffs.size() << " differences, first: " << diffs.front();
  }
}

TEST_F(DistributedTest, KilledSubmitterIsReattachedAndTheRunCompletesExactly) {
  build_wide_tree(200, 40);
  auto a = worker(1);
  Process submitter(pass("copy"), tmp_ / "submitter.log");
  std::smatch m;
  std::string log;
  for (int i = 0; i < 100 && !std::regex_search(log, m, std::regex("run ([0-9a-f]{16}) submitted")); ++i) {
    std::this_thread::sleep_for(50ms);
    log = submitter.log();
  }
  ASSERT_TRUE(m.size() == 2) << log;
  std::string run = m[1];
  submitter.kill9();  // at once: the run must still be going
  // Its lock stays: a new run on the same target is refused and told how to re-attach.
  RunResult second = run_lmover(pass("copy"));
  EXPECT_EQ(second.exit_code, 2) << second.output;
  EXPECT_NE(second.output.find("lmover wait --run " + run), std::string::npos) << second.output;
  RunResult status = run_lmover({"status", "--run", run, "--broker", broker_url(), "--prefix", prefix_}, -1, false);
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_TRUE(std::regex_search(status.output, std::regex("\npass +copy\n"))) << status.output;
  auto b = worker();
  RunResult waited = run_lmover({"wait", "--run", run, "--broker", broker_url(), "--prefix", prefix_});
  ASSERT_EQ(waited.exit_code, 0) << waited.output;
  EXPECT_FALSE(exists(tmp_ / ".dst.lmover-lock")) << "wait did not release the run's lock";
  auto diffs = compare_trees(src_, dst_, OracleOptions{.dir_times = false});
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
  EXPECT_EQ(waited.counter("copy", "errors"), 0u);
}

TEST_F(DistributedTest, BrokerRestartedMidPassTheRunResumesAndCompletes) {
  const char* services = getenv("SERVICES_DIR");
  ASSERT_NE(services, nullptr) << "SERVICES_DIR is not set (tests/services.sh)";
  build_wide_tree(60, 40);
  auto a = worker(), b = worker();
  Process submitter(pass("sync"), tmp_ / "submitter.log");
  std::this_thread::sleep_for(400ms);
  run_shell(std::string("bash -c '. ") + LMOVER_SOURCE_DIR + "/tests/services.sh && services_restart_rabbitmq'");
  EXPECT_EQ(submitter.wait(), 0) << submitter.log();
  auto diffs = compare_trees(src_, dst_);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
}

// What a first copy of a tree must count, found by walking it: entries, distinct file inodes and
// their bytes, and the names of hard-linked files (each is placed by a link from the staging area).
struct TreeCount {
  uint64_t entries = 0, inodes = 0, bytes = 0, linked_names = 0;
};
TreeCount count_tree(const std::string& root) {
  TreeCount c;
  std::string out = root + ".count";
  run_shell("cd '" + root + "' && find . -mindepth 1 | wc -l > '" + out +
            "' && find . -type f -printf '%i %s\\n' | sort -u | awk '{n++; s+=$2} END {print n+0, s+0}' >> '" + out +
            "' && find . -type f -links +1 | wc -l >> '" + out + "'");
  std::istringstream in(read_file(out));
  in >> c.entries >> c.inodes >> c.bytes >> c.linked_names;
  return c;
}

TEST_F(DistributedTest, BrokerKilledMidCopyCountsEveryEntryOnce) {
  const char* services = getenv("SERVICES_DIR");
  ASSERT_NE(services, nullptr) << "SERVICES_DIR is not set (tests/services.sh)";
  build_wide_tree(100, 40);
  TreeCount tree = count_tree(src_);
  auto a = worker(), b = worker();
  std::string summary = tmp_ / "copy.json";
  Process submitter({"copy", src_, dst_, "--broker", broker_url(), "--prefix", prefix_, "--json", summary},
                    tmp_ / "submitter.log");
  std::this_thread::sleep_for(500ms);
  run_shell(std::string("bash -c '. ") + LMOVER_SOURCE_DIR + "/tests/services.sh && services_restart_rabbitmq kill'");
  ASSERT_EQ(submitter.wait(), 0) << submitter.log();
  EXPECT_TRUE(compare_trees(src_, dst_, OracleOptions{.dir_times = false}).empty());
  auto c = nlohmann::json::parse(read_file(summary))["passes"][0]["counters"];
  // Every entry is counted exactly once. What it counts as depends on which run of a redelivered
  // task reported first (a file copied by a run whose report died with the broker is `unchanged`
  // for the run that reports), so the other counters are bounded by the tree, never above it.
  EXPECT_EQ(c["entries"].get<uint64_t>(), tree.entries) << c.dump();
  EXPECT_LE(c["files_copied"].get<uint64_t>(), tree.inodes) << c.dump();
  EXPECT_LE(c["links_made"].get<uint64_t>(), tree.linked_names) << c.dump();
  EXPECT_LE(c["bytes_copied"].get<uint64_t>(), tree.bytes) << c.dump();
  EXPECT_LE(c["files_copied"].get<uint64_t>() + c["unchanged"].get<uint64_t>(), tree.entries) << c.dump();
  EXPECT_EQ(c["errors"].get<uint64_t>(), 0u) << c.dump();
}

TEST_F(DistributedTest, PasswordFromAPrivateConfigFile) {
  build_wide_tree(2, 2);
  std::string config = tmp_ / "lmover.toml";
  write_file(config, "broker = \"" + broker_url() + "\"\nprefix = \"" + prefix_ + "\"\npassword = \"" +
                         getenv("LMOVER_BROKER_PASSWORD") + "\"\n");
  chmod(config.c_str(), 0600);
  std::string saved = getenv("LMOVER_BROKER_PASSWORD");
  unsetenv("LMOVER_BROKER_PASSWORD");  // children must get it from the file alone
  Process w({"worker", "--config", config, "-j", "1"}, tmp_ / "w.log");
  RunResult r = run_lmover({"copy", src_, dst_, "--config", config});
  setenv("LMOVER_BROKER_PASSWORD", saved.c_str(), 1);
  EXPECT_EQ(r.exit_code, 0) << r.output << w.log();
  EXPECT_TRUE(compare_trees(src_, dst_, OracleOptions{.dir_times = false}).empty());
}

TEST_F(DistributedTest, BrokerInitIsIdempotentAndItsUserCanWork) {
  const char* api = getenv("LMOVER_TEST_BROKER_API");
  ASSERT_NE(api, nullptr);
  std::string vhost = prefix_ + "-vhost", user = prefix_ + "-user";
  write_file(tmp_ / "admin.pass", std::string(getenv("LMOVER_BROKER_PASSWORD")) + "\n");
  write_file(tmp_ / "user.pass", "fresh-secret\n");
  chmod((tmp_ / "admin.pass").c_str(), 0600);
  chmod((tmp_ / "user.pass").c_str(), 0600);
  for (int round = 0; round < 2; ++round) {
    // The second time with a trailing slash, as a URL is often pasted from a browser.
    RunResult r = run_lmover({"broker", "init", "--api", std::string(api) + (round ? "/" : ""), "--vhost", vhost, "--user", user, "--password-file",
                              tmp_ / "user.pass", "--admin", "lmover", "--admin-password-file", tmp_ / "admin.pass"},
                             -1, false);
    ASSERT_EQ(r.exit_code, 0) << "round " << round << ": " << r.output;
  }
  BrokerAddress address = BrokerAddress::parse(broker_url());
  address.vhost = vhost;
  address.user = user;
  address.password = "fresh-secret";
  AmqpSession session(address);  // throws if the login or vhost were not set up
  session.declare_queue(prefix_ + ".probe");
  RunResult bad = run_lmover({"broker", "init", "--api", api, "--vhost", vhost, "--user", user, "--password-file",
                              tmp_ / "user.pass", "--admin", "nobody", "--admin-password-file", tmp_ / "user.pass"},
                             -1, false);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("HTTP 401: login refused for 'nobody'"), std::string::npos) << bad.output;
  // Errors in words: where it connected and what the connect said, not httplib's enum names.
  RunResult closed = run_lmover({"broker", "init", "--api", "http://127.0.0.1:1/", "--vhost", vhost, "--user", user,
                                 "--password-file", tmp_ / "user.pass", "--admin", "lmover", "--admin-password-file",
                                 tmp_ / "admin.pass"},
                                -1, false);
  EXPECT_EQ(closed.exit_code, 2);
  EXPECT_NE(closed.output.find("connect to 127.0.0.1:1: Connection refused"), std::string::npos) << closed.output;
  RunResult amqp_port = run_lmover({"broker", "init", "--api", "http://" + address.host + ":" + std::to_string(address.port),
                                    "--vhost", vhost, "--user", user, "--password-file", tmp_ / "user.pass", "--admin",
                                    "lmover", "--admin-password-file", tmp_ / "admin.pass"},
                                   -1, false);
  EXPECT_EQ(amqp_port.exit_code, 2);
  EXPECT_NE(amqp_port.output.find("is it the management port"), std::string::npos) << amqp_port.output;
}

TEST_F(DistributedTest, TlsBrokerVerifiedWithACaFile) {
  const char* url = getenv("LMOVER_TEST_BROKER_TLS");
  const char* ca = getenv("LMOVER_TEST_BROKER_CA");
  ASSERT_TRUE(url && ca) << "tests/services.sh exports the TLS listener";
  build_wide_tree(3, 3);
  Process w({"worker", "--broker", url, "--broker-ca-file", ca, "--prefix", prefix_, "-j", "1"}, tmp_ / "w.log");
  RunResult r = run_lmover({"copy", src_, dst_, "--broker", url, "--broker-ca-file", ca, "--prefix", prefix_});
  ASSERT_EQ(r.exit_code, 0) << r.output << w.log();
  EXPECT_TRUE(compare_trees(src_, dst_, OracleOptions{.dir_times = false}).empty());
  // Without the CA the broker's certificate cannot be verified: refused, not trusted blindly.
  RunResult unverified = run_lmover({"copy", src_, dst_, "--broker", url, "--prefix", prefix_});
  EXPECT_EQ(unverified.exit_code, 2) << unverified.output;
}

// A worker the broker refuses (a wrong password) stops after a few tries with one clear line and a
// non-zero exit, for systemd's Restart= to show, instead of retrying for ever; no password at all,
// or a password file others can read, is said before any try.
TEST_F(DistributedTest, AWorkerWhoseLoginIsRefusedStopsWithOneClearLine) {
  std::string wrong = tmp_ / "wrong.pass";
  write_file(wrong, "not-the-password\n");
  chmod(wrong.c_str(), 0600);
  Process w({"timeout", "60", LMOVER_BIN, "worker", "--broker", broker_url(), "--prefix", prefix_,
             "--broker-password-file", wrong},
            tmp_ / "refused.log", true);
  EXPECT_EQ(w.wait(), 2) << w.log();
  std::string log = w.log();
  size_t lines = 0;
  for (size_t at = log.find("login refused"); at != std::string::npos; at = log.find("login refused", at + 1)) ++lines;
  EXPECT_EQ(lines, 1u) << log;
  EXPECT_NE(log.find("ACCESS_REFUSED"), std::string::npos) << log;
  EXPECT_EQ(log.find("not-the-password"), std::string::npos) << "the password was printed";

  chmod(wrong.c_str(), 0644);
  RunResult open_file = run_lmover({"worker", "--broker", broker_url(), "--prefix", prefix_, "--broker-password-file", wrong},
                                   -1, false);
  EXPECT_EQ(open_file.exit_code, 2) << open_file.output;
  EXPECT_NE(open_file.output.find("is readable by others (mode 0644): chmod 600 it"), std::string::npos) << open_file.output;

  std::string url = broker_url();
  Process none({"env", "-u", "LMOVER_BROKER_PASSWORD", LMOVER_BIN, "copy", src_, dst_, "--broker", url, "--prefix", prefix_},
               tmp_ / "none.log", true);
  EXPECT_EQ(none.wait(), 2) << none.log();
  EXPECT_NE(none.log().find("no password: use --broker-password-file or $LMOVER_BROKER_PASSWORD"), std::string::npos)
      << none.log();
}

// The broker not there: its address and what the connect said ("Connection refused"), not "a socket
// error occurred".
TEST_F(DistributedTest, DeadBrokerAtStartIsAClearFatalError) {
  build_wide_tree(1, 1);
  RunResult r = run_lmover({"copy", src_, dst_, "--broker", "amqp://lmover@127.0.0.1:1/lmover"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("amqp://lmover@127.0.0.1:1/lmover"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("connect to 127.0.0.1:1: Connection refused"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(getenv("LMOVER_BROKER_PASSWORD")), std::string::npos) << "password leaked into output";
}

// --max-errors over RabbitMQ: the submitter counts the workers' failures and, at N, cancels the run
// (not only its following of it): the summary says why, status keeps the run as cancelled.
TEST_F(DistributedTest, MaxErrorsCancelsTheRun) {
  SmallMount small(tmp_ / "tiny", "size=256k");
  ASSERT_EQ(small.error(), "");
  const std::string& mnt = small.path();
  for (int d = 0; d < 30; ++d) {
    make_dir(src_ + "/d" + std::to_string(d));
    for (int f = 0; f < 10; ++f) write_file(src_ + "/d" + std::to_string(d) + "/f" + std::to_string(f), std::string(8192, 'x'));
  }
  auto a = worker(1);
  RunResult r = run_lmover({"sync", src_, mnt + "/dst", "--max-errors", "5", "--broker", broker_url(), "--prefix", prefix_});
  EXPECT_EQ(r.exit_code, 1) << r.output << a->log();
  EXPECT_EQ(r.summary["interrupted"], "--max-errors 5") << r.summary.dump();
  EXPECT_EQ(r.summary["passes"].size(), 1u) << "the sync went on after its copy stopped";
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("run ([0-9a-f]{16}) cancelled \\(--max-errors 5\\)"))) << r.output;
  RunResult listed = run_lmover({"status", "--broker", broker_url(), "--prefix", prefix_}, -1, false);
  EXPECT_TRUE(std::regex_search(listed.output, std::regex(m[1].str() + " +copy +cancelled "))) << listed.output;
  EXPECT_FALSE(exists(tmp_ / ".dst.lmover-lock"));
}

// A worker serves the tasks of several runs: a line about a task names the run it belongs to.
TEST_F(DistributedTest, AWorkersLinesAboutATaskNameItsRun) {
  SmallMount small(tmp_ / "small", "size=256k");
  ASSERT_EQ(small.error(), "");
  const std::string& mnt = small.path();
  write_file(src_ + "/big", std::string(1 << 20, 'B'));
  auto a = worker(1);
  RunResult r = run_lmover({"copy", src_, mnt + "/dst", "--broker", broker_url(), "--prefix", prefix_});
  EXPECT_EQ(r.exit_code, 1) << r.output << a->log();
  std::smatch m;
  std::string log = a->log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"( error: run (\S+): .*'big': No space left on device)"))) << log;
  EXPECT_NE(r.output.find(m[1].str()), std::string::npos) << "the submitter never named run " << m[1] << ": " << r.output;
}

// The test's own session on the suite's broker, once a worker has declared its queues (.dead,
// .dir, .files, in that order).
std::unique_ptr<AmqpSession> session_once_queues_exist(const std::string& prefix) {
  BrokerAddress address = BrokerAddress::parse(broker_url());
  address.load_password("");
  auto session = std::make_unique<AmqpSession>(address);
  for (int i = 0; i < 100 && !session->ready_messages(prefix + ".files"); ++i) std::this_thread::sleep_for(100ms);
  return session;
}

TEST_F(DistributedTest, ForeignMessageIsDeadLetteredAndTheWorkerCarriesOn) {
  auto a = worker(1);
  std::unique_ptr<AmqpSession> connection = session_once_queues_exist(prefix_);
  AmqpSession& session = *connection;
  session.publish(prefix_ + ".files", "this is not a task");
  session.wait_for_confirms();
  std::optional<uint32_t> dead;
  for (int i = 0; i < 50 && dead.value_or(0) == 0; ++i) {
    std::this_thread::sleep_for(100ms);
    dead = session.ready_messages(prefix_ + ".dead");
  }
  EXPECT_EQ(dead.value_or(0), 1u) << a->log();
  EXPECT_NE(a->log().find("rejecting a message"), std::string::npos) << a->log();
  build_wide_tree(3, 3);
  RunResult r = run_lmover(pass("copy"));
  EXPECT_EQ(r.exit_code, 0) << r.output << a->log();
}

// A task of a node running another lmover (one not upgraded with the others) is named as such,
// handed back for a worker of its version (not dead-lettered), and its run is told why.
TEST_F(DistributedTest, ATaskFromAnotherVersionIsNamedAndHandedBack) {
  auto a = worker(1);
  std::unique_ptr<AmqpSession> connection = session_once_queues_exist(prefix_);
  AmqpSession& session = *connection;
  std::string run = "feedfacefeedface";
  session.declare_queue(prefix_ + ".reports." + run);
  session.publish(prefix_ + ".dir", pack_msgpack({{"v", 99}, {"lmover", "lmover 9.9.9 (commit abc)"}, {"run", run},
                                                 {"tasks", nlohmann::json::array()}}));
  session.wait_for_confirms();
  std::optional<Delivery> notice;
  for (int i = 0; i < 50 && !notice; ++i) {
    std::this_thread::sleep_for(100ms);
    notice = session.get(prefix_ + ".reports." + run);
  }
  ASSERT_TRUE(notice) << a->log();
  ReportMessage refusal = decode_report(notice->body);
  EXPECT_NE(refusal.reason.find("message version 99 from lmover 9.9.9 (commit abc)"), std::string::npos) << refusal.reason;
  EXPECT_NE(a->log().find("every node must run the same lmover"), std::string::npos) << a->log();
  EXPECT_EQ(session.ready_messages(prefix_ + ".dead").value_or(0), 0u) << "dead-lettered, not handed back";
  session.delete_queue(prefix_ + ".dir");  // it would go round between the worker and the queue
}

// `lmover control COMMAND [N] --json`: the answers.
std::vector<nlohmann::json> control(const std::string& prefix, const std::string& command, const std::string& n = "",
                                    const std::string& node = "") {
  std::vector<std::string> args = {"control", command, "--json"};
  if (!n.empty()) args.push_back(n);
  if (!node.empty()) args.insert(args.end(), {"--node", node});
  for (const char* a : {"--broker", "", "--prefix", "", "--wait", "1.5"}) args.push_back(a);
  args[args.size() - 5] = broker_url();
  args[args.size() - 3] = prefix;
  RunResult r = run_lmover(args, -1, false);
  size_t open = r.output.find('['), close = r.output.rfind(']');
  if (open == std::string::npos || close == std::string::npos) return {};
  return nlohmann::json::parse(r.output.substr(open, close - open + 1)).get<std::vector<nlohmann::json>>();
}

TEST_F(DistributedTest, ControlListsPausesResizesAndStopsWorkers) {
  build_wide_tree(10, 10);
  Process w({"worker", "--broker", broker_url(), "--prefix", prefix_, "-j", "2"}, tmp_ / "w.log");
  std::vector<nlohmann::json> answers;
  for (int i = 0; i < 10 && answers.empty(); ++i) answers = control(prefix_, "workers");  // until it listens
  ASSERT_EQ(answers.size(), 1u) << w.log();
  EXPECT_EQ(answers[0]["threads"], 2);
  EXPECT_EQ(control(prefix_, "grow", "3").at(0)["threads"], 5);
  EXPECT_EQ(control(prefix_, "shrink", "4").at(0)["threads"], 1);

  EXPECT_EQ(control(prefix_, "pause").at(0)["paused"], true);
  Process submitter(pass("copy"), tmp_ / "submitter.log");
  std::this_thread::sleep_for(1500ms);
  struct stat st;
  EXPECT_NE(stat((dst_ + "/d0/f0").c_str(), &st), 0) << "a paused worker copied";
  EXPECT_EQ(control(prefix_, "active").at(0)["active"], 0);
  // `status` sees the live run while its submitter holds the checkpoint.
  std::smatch m;
  std::string log = submitter.log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("run ([0-9a-f]{16}) submitted"))) << log;
  RunResult status = run_lmover({"status", "--run", m[1], "--json", "--broker", broker_url(), "--prefix", prefix_}, -1, false);
  ASSERT_EQ(status.exit_code, 0) << status.output;
  nlohmann::json seen = nlohmann::json::parse(status.output.substr(status.output.find('{')));
  EXPECT_EQ(seen["pass"], "copy");
  EXPECT_EQ(seen["tasks_pending"], 1);  // the root, waiting for a worker
  EXPECT_EQ(seen["tasks_done"], 0);
  // Without --run, `status` lists the runs of the prefix: this one, while it is not over.
  RunResult listed = run_lmover({"status", "--broker", broker_url(), "--prefix", prefix_}, -1, false);
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_TRUE(std::regex_search(listed.output, std::regex(std::string(m[1]) + " +copy .* +1 +0 +" + src_ + " -> " + dst_)))
      << listed.output;
  EXPECT_EQ(control(prefix_, "resume").at(0)["paused"], false);
  EXPECT_EQ(submitter.wait(), 0) << submitter.log();
  listed = run_lmover({"status", "--broker", broker_url(), "--prefix", prefix_}, -1, false);
  EXPECT_TRUE(std::regex_search(listed.output, std::regex(std::string(m[1]) + " +copy +complete ")))
      << "a finished run is listed with its outcome for a while: " << listed.output;
  EXPECT_TRUE(compare_trees(src_, dst_, OracleOptions{.dir_times = false}).empty());

  EXPECT_EQ(control(prefix_, "stop").size(), 1u);
  EXPECT_EQ(w.wait(), 0) << "the worker did not stop cleanly: " << w.log();
}

// `lmover control` says how many of the connected workers answered; a pause and a resume are held
// on the broker, so a worker that was away when the resume went out (stopped, cut off, the broker
// restarted) finds it when it comes back, instead of sitting paused with the run waiting on it.
TEST_F(DistributedTest, AResumeSentWhileAWorkerWasAwayReachesItWhenItComesBack) {
  build_wide_tree(3, 3);
  std::string url = broker_url() + "?heartbeat=2";  // the broker notices a stopped worker in seconds
  Process w({"worker", "--broker", url, "--prefix", prefix_, "-j", "1"}, tmp_ / "w.log");
  auto control_line = [&](const std::string& command, const char* wait = "1") {
    return run_lmover({"control", command, "--wait", wait, "--broker", broker_url(), "--prefix", prefix_}, -1, false);
  };
  RunResult listed;
  for (int i = 0; i < 20 && listed.output.find("1 of 1 worker(s) answered") == std::string::npos; ++i) {
    listed = control_line("workers");
  }
  ASSERT_NE(listed.output.find("1 of 1 worker(s) answered"), std::string::npos) << listed.output << w.log();
  EXPECT_EQ(listed.exit_code, 0);
  EXPECT_TRUE(std::regex_search(listed.output, std::regex("WORKER +VERSION +THREADS +PAUSED"))) << listed.output;
  EXPECT_TRUE(std::regex_search(listed.output, std::regex(":" + std::to_string(w.pid()) + " +[0-9.]+ +1 +no "))) << listed.output;
  ASSERT_EQ(control(prefix_, "pause").at(0)["paused"], true);

  w.signal(SIGSTOP);
  RunResult silent = control_line("workers");
  EXPECT_NE(silent.output.find("0 of 1 worker(s) answered (1 did not within 1 s"), std::string::npos) << silent.output;
  EXPECT_EQ(silent.exit_code, 1);
  RunResult gone;
  for (int i = 0; i < 30 && gone.output.find("0 of 0 worker(s)") == std::string::npos; ++i) gone = control_line("workers", "0.5");
  ASSERT_NE(gone.output.find("0 of 0 worker(s)"), std::string::npos) << "the broker never dropped the stopped worker";
  RunResult resumed = control_line("resume");  // nobody hears it now
  EXPECT_NE(resumed.output.find("0 of 0 worker(s) answered"), std::string::npos) << resumed.output;
  w.signal(SIGCONT);

  std::vector<nlohmann::json> answers;
  for (int i = 0; i < 30 && (answers.empty() || answers[0]["paused"] != false); ++i) answers = control(prefix_, "workers");
  ASSERT_EQ(answers.size(), 1u) << w.log();
  ASSERT_EQ(answers[0]["paused"], false) << "the resume sent while the worker was away was lost: " << w.log();
  RunResult copy = run_lmover(pass("copy"));
  EXPECT_EQ(copy.exit_code, 0) << copy.output << w.log();
  EXPECT_TRUE(compare_trees(src_, dst_, OracleOptions{.dir_times = false}).empty());
}

// `lmover cancel --run`: a run whose submitter died (its lock left behind, its tasks queued for
// paused workers) is cancelled: the workers drop its tasks, the lock goes, `status` keeps it as
// cancelled, and a new run on the target can start. A submitter still following a run that is
// cancelled stops with exit 1 and says so.
TEST_F(DistributedTest, CancelDropsARunsTasksReleasesItsLockAndStatusKeepsIt) {
  build_wide_tree(10, 10);
  auto w = worker(1);
  std::vector<nlohmann::json> answers;
  for (int i = 0; i < 10 && answers.empty(); ++i) answers = control(prefix_, "pause");
  ASSERT_EQ(answers.size(), 1u) << w->log();
  auto submitted_run = [](Process& p) {
    std::smatch m;
    for (int i = 0; i < 100; ++i) {
      std::string log = p.log();
      if (std::regex_search(log, m, std::regex("run ([0-9a-f]{16}) submitted"))) return m[1].str();
      std::this_thread::sleep_for(100ms);
    }
    return std::string();
  };
  Process dead(pass("copy"), tmp_ / "dead.log");
  std::string run = submitted_run(dead);
  ASSERT_FALSE(run.empty()) << dead.log();
  dead.kill9();
  std::string lock = tmp_ / ".dst.lmover-lock";
  ASSERT_TRUE(exists(lock));

  RunResult cancelled = run_lmover({"cancel", "--run", run, "--broker", broker_url(), "--prefix", prefix_}, -1, false);
  EXPECT_EQ(cancelled.exit_code, 0) << cancelled.output;
  EXPECT_NE(cancelled.output.find("the lock of " + dst_ + " is released"), std::string::npos) << cancelled.output;
  EXPECT_FALSE(exists(lock));
  EXPECT_EQ(control(prefix_, "resume").at(0)["paused"], false);
  BrokerAddress address = BrokerAddress::parse(broker_url());
  address.load_password("");
  AmqpSession session(address);
  for (int i = 0; i < 100 && session.ready_messages(prefix_ + ".dir").value_or(0) > 0; ++i) std::this_thread::sleep_for(100ms);
  EXPECT_EQ(session.ready_messages(prefix_ + ".dir").value_or(0), 0u) << "the cancelled run's tasks stay queued";
  EXPECT_FALSE(exists(dst_ + "/d0")) << "a worker ran a task of a cancelled run";
  RunResult listed = run_lmover({"status", "--broker", broker_url(), "--prefix", prefix_}, -1, false);
  EXPECT_TRUE(std::regex_search(listed.output, std::regex(run + " +copy +cancelled "))) << listed.output;
  RunResult again = run_lmover({"cancel", "--run", "0123456789abcdef", "--broker", broker_url(), "--prefix", prefix_}, -1, false);
  EXPECT_EQ(again.exit_code, 2) << again.output;
  EXPECT_NE(again.output.find("no run 0123456789abcdef"), std::string::npos) << again.output;

  // A submitter that follows its run when it is cancelled stops, says so, and lets the lock go.
  ASSERT_EQ(control(prefix_, "pause").at(0)["paused"], true);
  std::string summary = tmp_ / "live.json";
  std::vector<std::string> args = pass("copy");
  args.insert(args.end(), {"--json", summary, "--progress-interval", "0.5"});
  Process live(args, tmp_ / "live.log");
  std::string live_run = submitted_run(live);
  ASSERT_FALSE(live_run.empty()) << live.log();
  // Its progress lines say why nothing moves, not 0/s.
  for (int i = 0; i < 150 && live.log().find("workers paused (lmover control resume)") == std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(live.log().find("workers paused (lmover control resume)"), std::string::npos) << live.log();
  EXPECT_EQ(run_lmover({"cancel", "--run", live_run, "--broker", broker_url(), "--prefix", prefix_}, -1, false).exit_code, 0);
  EXPECT_EQ(live.wait(), 1) << live.log();
  EXPECT_NE(live.log().find("run " + live_run + " was cancelled"), std::string::npos) << live.log();
  EXPECT_EQ(nlohmann::json::parse(read_file(summary))["interrupted"], "lmover cancel");
  EXPECT_FALSE(exists(lock)) << "the cancelled submitter kept the lock";

  EXPECT_EQ(control(prefix_, "resume").at(0)["paused"], false);
  RunResult fresh = run_lmover(pass("copy"));
  EXPECT_EQ(fresh.exit_code, 0) << fresh.output << w->log();
  EXPECT_TRUE(compare_trees(src_, dst_, OracleOptions{.dir_times = false}).empty());
}

// --node addresses one worker (host:pid) or every worker of a host, as the original's destination=.
TEST_F(DistributedTest, ControlNodeAddressesOneWorker) {
  Process a({"worker", "--broker", broker_url(), "--prefix", prefix_, "-j", "1"}, tmp_ / "a.log");
  Process b({"worker", "--broker", broker_url(), "--prefix", prefix_, "-j", "1"}, tmp_ / "b.log");
  std::vector<nlohmann::json> answers;
  for (int i = 0; i < 10 && answers.size() < 2; ++i) answers = control(prefix_, "workers");
  ASSERT_EQ(answers.size(), 2u) << a.log() << b.log();
  std::string first = answers[0]["worker"];
  auto paused = control(prefix_, "pause", "", first);
  ASSERT_EQ(paused.size(), 1u);
  EXPECT_EQ(paused[0]["worker"], first);
  EXPECT_EQ(paused[0]["paused"], true);
  for (const auto& w : control(prefix_, "workers")) EXPECT_EQ(w["paused"], w["worker"] == first) << w.dump();
  std::string host = first.substr(0, first.rfind(':'));
  EXPECT_EQ(control(prefix_, "workers", "", host).size(), 2u) << "both workers run on " << host;
  EXPECT_TRUE(control(prefix_, "workers", "", "no-such-node.example").empty());
}

// 100 000 directories (each with one file) over a real broker: exact, counted once, in a few
// hundred messages, none of them growing with the tree (bench/ has the 1M-directory tree).
TEST_F(DistributedTest, HundredThousandDirectoriesInFewBoundedMessages) {
  constexpr int kTop = 50, kMid = 40, kLeaf = 50;  // 50 + 2000 + 100 000 directories
  // On a tmpfs: this is about the engine, and a disk would spend most of the test in its journal.
  std::string mnt = tmp_ / "mnt", src = mnt + "/src", dst = mnt + "/dst";
  make_dir(mnt);
  ASSERT_EQ(mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1g,nr_inodes=0"), 0) << strerror(errno);
  struct Unmount {
    std::string at;
    ~Unmount() { umount2(at.c_str(), MNT_DETACH); }
  } unmount{mnt};
  make_dir(src);
  for (int i = 0; i < kTop; ++i) {
    std::string a = src + "/d" + std::to_string(i);
    make_dir(a);
    for (int j = 0; j < kMid; ++j) {
      std::string b = a + "/d" + std::to_string(j);
      make_dir(b);
      for (int k = 0; k < kLeaf; ++k) {
        std::string c = b + "/d" + std::to_string(k);
        make_dir(c);
        write_file(c + "/f", "");
      }
    }
  }
  auto a = worker(1), b = worker(1);
  RunResult r = run_lmover({"copy", src, dst, "--broker", broker_url(), "--prefix", prefix_});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto diffs = compare_trees(src, dst, OracleOptions{.dir_times = false});
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
  auto pass_json = r.summary["passes"][0];
  EXPECT_EQ(pass_json["counters"]["dirs_created"].get<uint64_t>(), uint64_t(kTop + kTop * kMid + kTop * kMid * kLeaf));
  EXPECT_EQ(pass_json["counters"]["files_copied"].get<uint64_t>(), uint64_t(kTop * kMid * kLeaf));
  uint64_t messages = pass_json["messages"].get<uint64_t>();
  EXPECT_LT(messages, 5000u) << "a message per few tasks: " << pass_json.dump();
  // A report carries at most 200 ms of one worker's tasks; a checkpoint only the open tasks.
  EXPECT_LT(pass_json["largest_message_bytes"].get<uint64_t>(), 4u << 20) << pass_json.dump();
}

// A checkpoint too big for one message travels in parts; only a complete one counts, so a
// submitter killed while publishing the newest leaves the previous one in force.
TEST_F(DistributedTest, CheckpointsTravelInPartsAndOnlyCompleteOnesCount) {
  BrokerAddress address = BrokerAddress::parse(broker_url());
  address.load_password("");
  AmqpSession session(address);
  std::string queue = prefix_ + ".state.test";
  session.declare_queue(queue);
  std::string big(2 * kCheckpointPartBytes + 12345, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = char(i * 7 + i / 4096);
  Checkpoint old{{{"seq", 4}, {"run", "r"}, {"note", "old"}}, "tiny"};
  Checkpoint whole{{{"seq", 5}, {"run", "r"}, {"note", "whole"}}, big};
  Checkpoint cut{{{"seq", 6}, {"run", "r"}, {"note", "cut"}}, big};
  auto whole_parts = checkpoint_parts(whole), cut_parts = checkpoint_parts(cut);
  ASSERT_EQ(whole_parts.size(), 3u);
  for (const auto& p : whole_parts) EXPECT_LE(p.size(), kCheckpointPartBytes + 4096);
  for (const auto& p : checkpoint_parts(old)) session.publish(queue, p);
  for (const auto& p : whole_parts) session.publish(queue, p);
  session.publish(queue, cut_parts[0]);  // its submitter died before the other parts
  session.publish(queue, cut_parts[2]);
  session.wait_for_confirms();
  auto held = take_checkpoint(session, queue);
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(held->checkpoint.header["note"], "whole");
  EXPECT_TRUE(held->checkpoint.tracker == big) << "the parts did not reassemble byte for byte";
  EXPECT_EQ(held->tags.size(), 3u);
  EXPECT_EQ(session.ready_messages(queue).value_or(99), 0u) << "older and incomplete parts must be dropped";
  session.delete_queue(queue);
}

}  // namespace
}  // namespace lmover::test
