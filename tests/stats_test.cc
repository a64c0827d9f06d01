// Statistics against the real services the suite starts (tests/services.sh): counters in
// memcached, read back with libmemcached-tools' memccat (not lmover's own reader), and pushed to
// carbon-cache, read back from its whisper files with python3-whisper.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "distributed_support.h"
#include "test_support.h"

namespace lmover::test {
namespace {

using namespace std::chrono_literals;

std::string env_or_empty(const char* name) {
  const char* v = getenv(name);
  return v ? v : "";
}

// Files and bytes in a tree, counted by walking it.
std::pair<uint64_t, uint64_t> files_and_bytes(const std::string& root) {
  std::string out = root + ".count";
  run_shell("find '" + root + "' -type f -printf '%s\\n' | awk '{n++; b+=$1} END {print n+0, b+0}' > '" + out + "'");
  std::istringstream in(read_file(out));
  uint64_t n = 0, b = 0;
  in >> n >> b;
  return {n, b};
}

class StatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    memcached_ = env_or_empty("LMOVER_TEST_MEMCACHED");
    ASSERT_FALSE(memcached_.empty()) << "LMOVER_TEST_MEMCACHED is not set: run the suite with scripts/test.sh, "
                                        "which starts memcached and carbon on loopback (tests/services.sh)";
    make_dir(src_);
  }
  void small_tree(int dirs, int files) {
    for (int d = 0; d < dirs; ++d) {
      make_dir(src_ + "/d" + std::to_string(d));
      for (int f = 0; f < files; ++f) write_file(src_ + "/d" + std::to_string(d) + "/f" + std::to_string(f), std::string(f % 97, 'x'));
    }
  }
  // The newest value carbon wrote to a whisper file (python3-whisper reads it; carbon writes
  // asynchronously, so it is polled for up to 5 s); -1 when there is none.
  double whisper_newest(const std::string& file) {
    std::string script = tmp_ / "read.py";
    write_file(script,
               "import sys, time, whisper\n"
               "(start, end, step), vals = whisper.fetch(sys.argv[1], int(time.time()) - 600)\n"
               "print(max(v for v in vals if v is not None))\n");
    std::string got;
    for (int i = 0; i < 50 && got.empty(); ++i) {
      if (exists(file)) {
        std::string out = tmp_ / "whisper.out";
        if (std::system(("/usr/bin/python3 '" + script + "' '" + file + "' > '" + out + "' 2>/dev/null").c_str()) == 0) got = read_file(out);
      }
      if (got.empty()) std::this_thread::sleep_for(100ms);
    }
    return got.empty() ? -1 : std::strtod(got.c_str(), nullptr);
  }
  uint64_t counter(const std::string& node, const std::string& pass, const std::string& name) {
    return memcached_value(memcached_, prefix_ + "." + node + "." + pass + "." + name, tmp_ / "memccat.out");
  }

  std::string memcached_;
  std::string prefix_ = "t" + std::to_string(getpid()) + "_" + std::to_string(std::rand());
  TempDir tmp_;
  std::string src_ = tmp_ / "src", dst_ = tmp_ / "dst";
};

TEST_F(StatsTest, EmbeddedCountersInMemcachedMatchTheSummaryAndTheTree) {
  small_tree(20, 50);
  RunResult r = run_lmover({"sync", src_, dst_, "--memcached", memcached_, "--metric-prefix", prefix_,
                            "--report-interval", "0.1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string node = metric_node_name();
  auto [files, bytes] = files_and_bytes(dst_);
  EXPECT_EQ(counter(node, "copy", "files_copied"), files);
  EXPECT_EQ(counter(node, "copy", "bytes_copied"), bytes);
  for (const char* name : {"entries", "files_copied", "bytes_copied", "dirs_created", "metadata_updated"}) {
    EXPECT_EQ(counter(node, "copy", name), r.counter("copy", name)) << name;
  }
  EXPECT_EQ(counter(node, "dirtime", "dir_times_set"), r.counter("dirtime", "dir_times_set"));
  RunResult listed = run_lmover({"stats", "show", "--memcached", memcached_, "--metric-prefix", prefix_}, -1, false);
  EXPECT_NE(listed.output.find(node), std::string::npos) << listed.output;

  // A second run adds to the same counters (they only grow; Graphite derives the rates).
  write_file(src_ + "/d0/new", "12345");
  ASSERT_EQ(run_lmover({"copy", src_, dst_, "--memcached", memcached_, "--metric-prefix", prefix_}).exit_code, 0);
  EXPECT_EQ(counter(node, "copy", "files_copied"), files + 1);

  // `lmover stats show --json` reads the same numbers back.
  RunResult shown = run_lmover({"stats", "show", "--memcached", memcached_, "--metric-prefix", prefix_, "--json"}, -1, false);
  ASSERT_EQ(shown.exit_code, 0) << shown.output;
  auto doc = nlohmann::json::parse(shown.output);
  EXPECT_EQ(doc["counters"][node]["copy"]["files_copied"].get<uint64_t>(), files + 1);
  EXPECT_EQ(doc["counters"]["total"]["copy"]["bytes_copied"].get<uint64_t>(), bytes + 5);
}

TEST_F(StatsTest, MemcachedThatIsAwayNeverFailsOrHoldsUpAPass) {
  small_tree(5, 20);
  auto t0 = std::chrono::steady_clock::now();
  RunResult r = run_lmover({"sync", src_, dst_, "--memcached", "127.0.0.1:1", "--report-interval", "0.1"});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("counters kept here"), std::string::npos) << r.output;
  EXPECT_LT(seconds, 5.0) << r.output;
  // A metrics address that is taken (memcached's own) fails the run before it starts, clearly.
  RunResult taken = run_lmover({"copy", src_, tmp_ / "other", "--metrics-listen", memcached_});
  EXPECT_EQ(taken.exit_code, 2) << taken.output;
  EXPECT_NE(taken.output.find("listen for metrics '" + memcached_ + "'"), std::string::npos) << taken.output;
  EXPECT_FALSE(exists(tmp_ / "other/d0"));
  RunResult bad = run_lmover({"copy", src_, dst_, "--memcached", "nohost:port"});
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("bad address 'nohost:port'"), std::string::npos) << bad.output;
}

// memcached stopped (SIGSTOP: it holds its data but answers nothing) in the middle of a pass: the
// pass goes on, the counts are kept, and once memcached answers again they catch up exactly.
TEST_F(StatsTest, CountersCatchUpWhenMemcachedAnswersAgain) {
  int port = 27190 + getpid() % 8;
  std::string server = "127.0.0.1:" + std::to_string(port);
  Process memcached({"memcached", "-u", "root", "-l", "127.0.0.1", "-p", std::to_string(port), "-U", "0", "-m", "16"},
                    tmp_ / "memcached.log", true);
  std::this_thread::sleep_for(300ms);
  small_tree(30, 1000);  // 30k files: long enough a pass to stop memcached in
  std::string summary = tmp_ / "summary.json";
  Process copy({"copy", src_, dst_, "-j", "1", "--memcached", server, "--metric-prefix", prefix_, "--report-interval",
                "0.1", "--json", summary},
               tmp_ / "copy.log");
  std::string node = metric_node_name();
  std::string key = prefix_ + "." + node + ".copy.entries";
  for (int i = 0; i < 100 && memcached_value(server, key, tmp_ / "memccat.out") == 0; ++i) std::this_thread::sleep_for(20ms);
  ASSERT_GT(memcached_value(server, key, tmp_ / "memccat.out"), 0u) << copy.log();
  memcached.signal(SIGSTOP);
  bool warned = false;
  for (int i = 0; i < 100 && !warned; ++i) {
    warned = copy.log().find("counters kept here") != std::string::npos;
    if (!warned) std::this_thread::sleep_for(20ms);
  }
  copy.signal(SIGSTOP);  // hold the pass while memcached comes back, so that it has work left
  EXPECT_TRUE(warned) << copy.log();
  EXPECT_FALSE(exists(summary)) << "the pass ended before memcached came back: the tree is too small to test with";
  memcached.signal(SIGCONT);
  copy.signal(SIGCONT);
  ASSERT_EQ(copy.wait(), 0) << copy.log();
  auto doc = nlohmann::json::parse(read_file(summary));
  uint64_t files = doc["passes"][0]["counters"]["files_copied"].get<uint64_t>();
  EXPECT_EQ(files, 30000u);
  // Every counter, the one whose push timed out included: it must count once, not twice.
  for (const char* name : {"entries", "files_copied", "bytes_copied", "dirs_created", "metadata_updated"}) {
    EXPECT_EQ(memcached_value(server, prefix_ + "." + node + ".copy." + name, tmp_ / "memccat.out"),
              doc["passes"][0]["counters"][name].get<uint64_t>())
        << name << "\n" << copy.log();
  }
  EXPECT_NE(copy.log().find("answers again"), std::string::npos) << copy.log();
}

TEST_F(StatsTest, GraphitePushLandsInWhisper) {
  std::string carbon = env_or_empty("LMOVER_TEST_CARBON"), whisper = env_or_empty("LMOVER_TEST_WHISPER");
  ASSERT_FALSE(carbon.empty() || whisper.empty()) << "carbon is not running (tests/services.sh)";
  small_tree(3, 7);
  ASSERT_EQ(run_lmover({"copy", src_, dst_, "--memcached", memcached_, "--metric-prefix", prefix_}).exit_code, 0);
  RunResult pushed = run_lmover({"stats", "graphite", "--once", "--memcached", memcached_, "--metric-prefix", prefix_,
                                 "--carbon", carbon}, -1, false);
  ASSERT_EQ(pushed.exit_code, 0) << pushed.output;
  std::string file = whisper + "/" + prefix_ + "/" + metric_node_name() + "/copy/files_copied.wsp";
  EXPECT_EQ(whisper_newest(file), 21.0) << file;
  // Counters never added to (no key in memcached) go to Graphite as 0, per node and in total.
  std::string base = whisper + "/" + prefix_ + "/";
  EXPECT_EQ(whisper_newest(base + metric_node_name() + "/copy/errors.wsp"), 0.0);
  EXPECT_EQ(whisper_newest(base + "total/delete/removed.wsp"), 0.0);
  RunResult unreachable = run_lmover({"stats", "graphite", "--once", "--memcached", memcached_, "--metric-prefix", prefix_,
                                      "--carbon", "127.0.0.1:1"}, -1, false);
  EXPECT_EQ(unreachable.exit_code, 2);
  EXPECT_NE(unreachable.output.find("carbon 127.0.0.1:1: Connection refused"), std::string::npos) << unreachable.output;
}

// A run's counters straight to carbon (--carbon), without memcached: each pass of a sync under its
// own path, the node's and the "total" one, and counters that stayed 0 sent as 0 (a dashboard
// draws 0, not a gap).
TEST_F(StatsTest, ARunPushesItsCountersStraightToCarbon) {
  std::string carbon = env_or_empty("LMOVER_TEST_CARBON"), whisper = env_or_empty("LMOVER_TEST_WHISPER");
  ASSERT_FALSE(carbon.empty() || whisper.empty()) << "carbon is not running (tests/services.sh)";
  small_tree(4, 5);
  make_dir(dst_);
  write_file(dst_ + "/gone1", "x");
  write_file(dst_ + "/gone2", "y");
  RunResult sync = run_lmover({"sync", src_, dst_, "--carbon", carbon, "--metric-prefix", prefix_, "--report-interval", "0.2"});
  ASSERT_EQ(sync.exit_code, 0) << sync.output;
  std::string base = whisper + "/" + prefix_ + "/";
  std::string node = metric_node_name();
  EXPECT_EQ(whisper_newest(base + node + "/copy/files_copied.wsp"), 20.0);
  EXPECT_EQ(whisper_newest(base + "total/copy/files_copied.wsp"), 20.0);
  EXPECT_EQ(whisper_newest(base + node + "/delete/removed.wsp"), 2.0);
  EXPECT_EQ(whisper_newest(base + node + "/dirtime/dir_times_set.wsp"), 5.0);
  EXPECT_EQ(whisper_newest(base + node + "/copy/errors.wsp"), 0.0);
  // A carbon that is not there costs the run a warning, never its result.
  RunResult away = run_lmover({"copy", src_, dst_, "--carbon", "127.0.0.1:1", "--metric-prefix", prefix_});
  EXPECT_EQ(away.exit_code, 0) << away.output;
  EXPECT_NE(away.output.find("carbon 127.0.0.1:1: Connection refused"), std::string::npos) << away.output;
}

}  // namespace
}  // namespace lmover::test
