// The broker killed -9 at chosen moments of a distributed sync and kept down for a few seconds, as
// an admin's broker restart or failover would: the submitter rides through it, the run goes on
// where it was, and the sync exits 0 with an exact clone (content, link structure, directory
// times, no staging entries left). Also: a submitter that gives up on the broker keeps the lock
// for its run, and `lmover wait --run` completes it.
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <fstream>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "distributed_support.h"
#include "amqp/amqp_session.h"
#include "distributed/messages.h"
#include "tree_oracle.h"

namespace lmover::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kDownSeconds = 3;

void restart_broker(int down_seconds) {
  run_shell(std::string("bash -c '. ") + LMOVER_SOURCE_DIR + "/tests/services.sh && services_restart_rabbitmq kill " +
            std::to_string(down_seconds) + "'");
}

// The lock file's distributed run id, or "" (no lock, or no run yet).
std::string lock_run(const std::string& lock) {
  std::ifstream in(lock);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto doc = nlohmann::json::parse(text, nullptr, false);
  return doc.is_object() ? doc.value("run", "") : "";
}

class BrokerFaultTest : public DistributedTest {
 protected:
  std::string url() const { return broker_url() + "?heartbeat=3"; }
  std::unique_ptr<Process> fault_worker() {
    return std::make_unique<Process>(std::vector<std::string>{"worker", "--broker", url(), "--prefix", prefix_, "-j", "2"},
                                     tmp_ / ("worker" + std::to_string(++workers_) + ".log"));
  }
  std::vector<std::string> fault_pass(const std::string& command) {
    return {command, src_, dst_, "--broker", url(), "--prefix", prefix_, "--chunk-threshold", "1048576",
            "--chunk-size", "262144", "--no-progress"};
  }
  // Every kind of task: many small directories and batches, hard-link groups of three names in
  // three directories, symlinks, xattrs, big files in chunks; and on the target a previous
  // migration's leftovers for the delete pass.
  void build_fault_tree() {
    for (int d = 0; d < 40; ++d) {
      std::string dir = src_ + "/d" + std::to_string(d);
      make_dir(dir);
      for (int f = 0; f < 40; ++f) {
        std::string file = dir + "/f" + std::to_string(f);
        write_file(file, std::string(1000 + 37 * f, char('a' + (d + f) % 26)));
        if (f % 7 == 0) set_xattr(file, "user.tag", "d" + std::to_string(d) + "f" + std::to_string(f));
      }
      symlink(("f" + std::to_string(d % 40)).c_str(), (dir + "/sym").c_str());
    }
    for (int g = 0; g < 60; ++g) {
      std::string first = src_ + "/d" + std::to_string(g % 40) + "/f" + std::to_string(g % 40);
      link(first.c_str(), (src_ + "/d" + std::to_string((g + 13) % 40) + "/h" + std::to_string(g)).c_str());
      link(first.c_str(), (src_ + "/d" + std::to_string((g + 27) % 40) + "/k" + std::to_string(g)).c_str());
    }
    make_dir(src_ + "/big");
    for (int b = 0; b < 3; ++b) write_file(src_ + "/big/b" + std::to_string(b), std::string((2 << 20) + b * 4099, char('A' + b)));
    make_dir(dst_);
    for (int d = 0; d < 20; ++d) {
      make_dir(dst_ + "/gone" + std::to_string(d));
      for (int f = 0; f < 25; ++f) write_file(dst_ + "/gone" + std::to_string(d) + "/x" + std::to_string(f), "old");
    }
  }
  void expect_exact_clone(const std::string& context) {
    auto diffs = compare_trees(src_, dst_);
    EXPECT_TRUE(diffs.empty()) << context << ": " << diffs.size() << " differences, first: " << diffs.front();
    EXPECT_FALSE(exists(dst_ + "/.lmover-hardlinks")) << context << ": the hard-link staging area was left";
  }
};

// When the broker dies, counted from the sync's start or from the start of its n-th pass (the
// lock names each pass's run as it is submitted).
struct Moment {
  const char* name;
  int pass;  // 1 copy, 2 delete, 3 dirtime
  std::chrono::milliseconds after;
};

class BrokerKilledAt : public BrokerFaultTest, public ::testing::WithParamInterface<Moment> {};

TEST_P(BrokerKilledAt, SyncRidesThroughAndTheCloneIsExact) {
  const Moment& m = GetParam();
  build_fault_tree();
  auto a = fault_worker(), b = fault_worker();
  Process submitter(fault_pass("sync"), tmp_ / "submitter.log");
  std::string lock = tmp_ / ".dst.lmover-lock";
  auto deadline = Clock::now() + 60s;
  std::vector<std::string> runs;
  while (m.pass > 1 && static_cast<int>(runs.size()) < m.pass && Clock::now() < deadline) {
    std::string run = lock_run(lock);
    if (!run.empty() && (runs.empty() || runs.back() != run)) runs.push_back(run);
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_LT(Clock::now(), deadline) << "pass " << m.pass << " never started: " << submitter.log();
  std::this_thread::sleep_for(m.after);
  restart_broker(kDownSeconds);
  ASSERT_EQ(submitter.wait(), 0) << submitter.log() << a->log() << b->log();
  expect_exact_clone(m.name);
  // And the next sync has nothing to do.
  RunResult again = run_lmover(fault_pass("sync"));
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(again.actions("copy") + again.actions("delete") + again.actions("dirtime"), 0u) << again.output;
}

INSTANTIATE_TEST_SUITE_P(Moments, BrokerKilledAt,
                         ::testing::Values(Moment{"publishing", 1, 100ms}, Moment{"first-tasks", 1, 250ms},
                                           Moment{"mid-copy", 1, 600ms}, Moment{"delete", 2, 50ms},
                                           Moment{"dirtime", 3, 20ms}),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           n.erase(std::remove(n.begin(), n.end(), '-'), n.end());
                           return n;
                         });

// A submitter whose broker stays away longer than --broker-retry-for gives up following the run,
// but the run is not over: its lock stays, naming it, and `lmover wait --run` completes it.
TEST_F(BrokerFaultTest, ASubmitterThatGivesUpKeepsTheLockAndWaitCompletesTheRun) {
  build_fault_tree();
  BrokerAddress address = BrokerAddress::parse(url());
  address.load_password("");
  // No worker yet, so that the run is surely not over when the broker goes: it waits in the queue.
  auto args = fault_pass("copy");
  args.insert(args.end(), {"--broker-retry-for", "2"});
  Process submitter(args, tmp_ / "submitter.log");
  std::string lock = tmp_ / ".dst.lmover-lock";
  bool queued = false;
  for (auto deadline = Clock::now() + 30s; !queued && Clock::now() < deadline; std::this_thread::sleep_for(20ms)) {
    AmqpSession session(address);
    queued = session.ready_messages(QueueNames{prefix_}.dirs()).value_or(0) > 0;
  }
  ASSERT_TRUE(queued) << submitter.log();
  std::this_thread::sleep_for(200ms);  // following it by now
  std::string run = lock_run(lock);
  ASSERT_FALSE(run.empty()) << submitter.log();
  restart_broker(4);  // down about 4 s plus its start: longer than the submitter's 2 s
  EXPECT_EQ(submitter.wait(), 2) << submitter.log();
  EXPECT_NE(submitter.log().find("lmover wait --run " + run), std::string::npos) << submitter.log();
  EXPECT_NE(submitter.log().find("trying again in"), std::string::npos) << submitter.log();
  EXPECT_EQ(lock_run(lock), run) << "the lock went while run " << run << " goes on";
  auto a = fault_worker(), b = fault_worker();  // the run goes on without its submitter

  RunResult refused = run_lmover(fault_pass("sync"));
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("lmover wait --run " + run), std::string::npos) << refused.output;

  // The common output flags of the passes are taken.
  RunResult waited = run_lmover({"wait", "--run", run, "--broker", url(), "--prefix", prefix_, "--no-progress", "-q"});
  ASSERT_EQ(waited.exit_code, 0) << waited.output;
  EXPECT_FALSE(exists(lock)) << "wait did not release the lock";
  EXPECT_FALSE(exists(dst_ + "/.lmover-hardlinks")) << "wait left the hard-link staging area: " << waited.output
                                                    << a->log() << b->log();
  EXPECT_EQ(waited.counter("copy", "errors"), 0u) << waited.output;
  auto diffs = compare_trees(src_, dst_, OracleOptions{.dir_times = false});
  // The leftovers of the old migration are still there: copy deletes nothing.
  for (const auto& d : diffs) EXPECT_NE(d.find("gone"), std::string::npos) << d;

  RunResult sync = run_lmover(fault_pass("sync"));
  ASSERT_EQ(sync.exit_code, 0) << sync.output;
  EXPECT_EQ(sync.actions("copy"), 0u) << sync.output;
  expect_exact_clone("after wait and a sync");
}

// A task that runs again after its run is complete (a redelivered parent published its children
// a second time) must not write the target: here the test itself sends a copy of a run's root
// task after the run ended, and the target, its staging area and its times stay as they were.
TEST_F(BrokerFaultTest, ATaskOfARunThatIsOverWritesNothing) {
  build_fault_tree();
  BrokerAddress address = BrokerAddress::parse(url());
  address.load_password("");
  AmqpSession session(address);
  // The run's root task, taken from the queue before any worker is there (and put back).
  Process submitter(fault_pass("copy"), tmp_ / "submitter.log");
  std::string root;
  for (auto deadline = Clock::now() + 30s; root.empty() && Clock::now() < deadline; std::this_thread::sleep_for(20ms)) {
    if (session.ready_messages(QueueNames{prefix_}.dirs()).value_or(0) == 0) continue;
    auto d = session.get(QueueNames{prefix_}.dirs());
    if (!d) continue;
    root = d->body;
    session.reject(d->tag, true);
  }
  ASSERT_FALSE(root.empty()) << submitter.log();
  auto a = fault_worker();
  ASSERT_EQ(submitter.wait(), 0) << submitter.log() << a->log();
  auto before = ctimes(dst_);
  write_file(src_ + "/d0/late", "late");  // what the stale task would copy, were it run
  session.publish(QueueNames{prefix_}.dirs(), root);
  session.wait_for_confirms();
  for (auto deadline = Clock::now() + 10s; Clock::now() < deadline; std::this_thread::sleep_for(100ms)) {
    if (session.ready_messages(QueueNames{prefix_}.dirs()).value_or(1) == 0) break;
  }
  std::this_thread::sleep_for(1s);
  EXPECT_FALSE(exists(dst_ + "/d0/late")) << "a task of a finished run copied a file: " << a->log();
  EXPECT_FALSE(exists(dst_ + "/.lmover-hardlinks"));
  EXPECT_EQ(before, ctimes(dst_)) << "a task of a finished run changed the target";
}

// Faults that overlap, on a live source: in each round a sync runs while a mutator changes the
// source (creates, deletes, in-place rewrites, renames into other directories, new hard links,
// mkdir/rmdir), the broker is killed -9 and a worker is killed -9 and replaced; the sync must not
// end fatally, and once the mutator stops, one quiet sync must leave an exact clone.
// LMOVER_SOAK_ROUNDS sets the rounds (3 in the suite).
TEST_F(BrokerFaultTest, SoakOfOverlappingFaultsOnALiveSourceEndsExact) {
  int rounds = getenv("LMOVER_SOAK_ROUNDS") ? atoi(getenv("LMOVER_SOAK_ROUNDS")) : 3;
  build_fault_tree();
  std::string live = src_ + "/live";
  make_dir(live);
  for (int d = 0; d < 8; ++d) make_dir(live + "/l" + std::to_string(d));
  std::mt19937 rng(20261203);
  auto a = fault_worker(), b = fault_worker();
  for (int round = 0; round < rounds; ++round) {
    std::atomic<bool> stop{false};
    std::thread mutator([&, seed = rng()] {
      std::mt19937 r(seed);
      for (int i = 0; !stop; ++i) {
        std::string dir = live + "/l" + std::to_string(r() % 8), other = live + "/l" + std::to_string(r() % 8);
        std::string name = "m" + std::to_string(r() % 200);
        switch (r() % 7) {
          case 0:
          case 1: {
            std::ofstream(dir + "/" + name) << std::string(500 + r() % 5000, char('a' + i % 26));
            break;
          }
          case 2: unlink((dir + "/" + name).c_str()); break;
          case 3: rename((dir + "/" + name).c_str(), (other + "/" + name + "r").c_str()); break;
          case 4: {
            std::fstream f(dir + "/" + name, std::ios::in | std::ios::out);
            if (f) f << "rewritten in place " << i;
            break;
          }
          case 5: {
            std::string sub = dir + "/s" + std::to_string(r() % 4);
            if (rmdir(sub.c_str()) != 0) mkdir(sub.c_str(), 0755);
            break;
          }
          case 6: link((dir + "/" + name).c_str(), (other + "/" + name + "h").c_str()); break;  // groups come and go
        }
        std::this_thread::sleep_for(std::chrono::microseconds(300 + r() % 700));
      }
    });
    Process submitter(fault_pass("sync"), tmp_ / ("soak" + std::to_string(round) + ".log"));
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng() % 600));
    a->kill9();
    restart_broker(2);
    a = fault_worker();
    int code = submitter.wait();
    stop = true;
    mutator.join();
    // On a live source a pass may fail entries (a directory made after the copy has no target for
    // dirtime): exit 1 is allowed, a fatal exit is not. The quiet sync is what must be exact.
    EXPECT_LE(code, 1) << "round " << round << ": " << submitter.log();
    RunResult quiet = run_lmover(fault_pass("sync"));
    ASSERT_EQ(quiet.exit_code, 0) << "round " << round << ": " << quiet.output;
    expect_exact_clone("round " + std::to_string(round));
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace lmover::test
