// Statistics of a distributed run: the submitter pushes per-node sums of first reports to
// memcached, so with a worker killed -9 mid-pass (its task redone by another) every task is still
// counted once, and memcached, --json and the tree agree.
#include <chrono>
#include <cstdlib>
#include <thread>

#include <gtest/gtest.h>

#include <httplib.h>

#include "distributed_support.h"
#include "test_support.h"

namespace lmover::test {
namespace {

using namespace std::chrono_literals;

TEST_F(DistributedTest, PerNodeCountersCountEachTaskOnceWhenAWorkerIsKilled) {
  const char* memcached = getenv("LMOVER_TEST_MEMCACHED");
  ASSERT_NE(memcached, nullptr) << "memcached is not running (tests/services.sh)";
  build_wide_tree(60, 40);
  std::string metric_prefix = "d" + prefix_;
  std::replace(metric_prefix.begin(), metric_prefix.end(), '-', '_');
  auto a = worker(1), b = worker(1);
  std::string summary = tmp_ / "copy.json";
  Process submitter({"copy", src_, dst_, "--broker", broker_url(), "--prefix", prefix_, "--json", summary,
                     "--memcached", memcached, "--metric-prefix", metric_prefix, "--report-interval", "0.1"},
                    tmp_ / "submitter.log");
  for (int i = 0; i < 200 && !exists(dst_ + "/d3"); ++i) std::this_thread::sleep_for(10ms);
  a->kill9();  // mid-pass: what it held goes back to the queue and runs again elsewhere
  auto c = worker(1);
  ASSERT_EQ(submitter.wait(), 0) << submitter.log();
  auto counters = nlohmann::json::parse(read_file(summary))["passes"][0]["counters"];

  std::string node = metric_node_name();
  std::string out = tmp_ / "memccat.out";
  for (const char* name : {"entries", "files_copied", "bytes_copied", "dirs_created", "links_made", "unchanged"}) {
    EXPECT_EQ(memcached_value(memcached, metric_prefix + "." + node + ".copy." + name, out),
              counters.value(name, uint64_t{0}))
        << name << " " << counters.dump();
  }
  // And each entry of the tree once: 60 directories of 40 files and a link each (but the first).
  EXPECT_EQ(memcached_value(memcached, metric_prefix + "." + node + ".copy.entries", out), 60u * 41 - 1 + 60);
}

// A worker's --metrics-listen endpoint, scraped and parsed by python3-prometheus-client's parser:
// counter families with HELP and TYPE, the work this worker did, which with one worker is the run's.
TEST_F(DistributedTest, WorkerServesPrometheusMetrics) {
  build_wide_tree(10, 20);
  int port = 27170 + getpid() % 8;
  Process w({"worker", "--broker", broker_url(), "--prefix", prefix_, "-j", "2", "--metrics-listen",
             "127.0.0.1:" + std::to_string(port)},
            tmp_ / "worker.log");
  // Before any work: every pass's series are there, at 0 (rate() is 0, not a gap).
  httplib::Client client("127.0.0.1", port);
  std::string before;
  for (int i = 0; i < 100 && before.empty(); ++i) {
    if (auto res = client.Get("/metrics")) before = res->body;
    else std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(before.empty()) << w.log();
  EXPECT_NE(before.find("lmover_files_copied_total{pass=\"copy\",node=\""), std::string::npos) << before;
  EXPECT_NE(before.find("lmover_removed_total{pass=\"delete\""), std::string::npos) << before;
  EXPECT_NE(before.find(",role=\"worker\"} 0\n"), std::string::npos) << before;
  std::vector<std::string> args = pass("copy");
  args.insert(args.end(), {"--json", tmp_ / "copy.json"});
  RunResult r = run_lmover(args, -1, false);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto counters = nlohmann::json::parse(read_file(tmp_ / "copy.json"))["passes"][0]["counters"];
  std::string script = tmp_ / "scrape.py";
  write_file(script,
             "import json, sys, urllib.request\n"
             "from prometheus_client.parser import text_string_to_metric_families\n"
             "text = urllib.request.urlopen(sys.argv[1]).read().decode()\n"
             "out = {}\n"
             "for f in text_string_to_metric_families(text):\n"
             "    if f.name == 'lmover_build_info':\n"
             "        assert f.type == 'gauge' and f.samples[0].labels['version'], f.samples\n"
             "        out['build_info'] = f.samples[0].value\n"
             "        continue\n"
             "    assert f.type == 'counter' and f.documentation, f.name\n"
             "    for s in f.samples:\n"
             "        assert s.labels['role'] == 'worker', s.labels\n"
             "        out[s.name + '/' + s.labels['pass']] = s.value\n"
             "print(json.dumps(out))\n");
  std::string out = tmp_ / "scrape.json";
  ASSERT_EQ(std::system(("/usr/bin/python3 '" + script + "' http://127.0.0.1:" + std::to_string(port) + "/metrics > '" +
                         out + "'").c_str()),
            0)
      << w.log();
  auto scraped = nlohmann::json::parse(read_file(out));
  EXPECT_EQ(scraped.value("build_info", 0.0), 1.0) << scraped.dump();
  for (const char* name : {"entries", "files_copied", "bytes_copied", "dirs_created", "links_made"}) {
    EXPECT_EQ(scraped.value(std::string("lmover_") + name + "_total/copy", -1.0), counters.value(name, uint64_t{0}))
        << name << " " << scraped.dump();
  }
}

}  // namespace
}  // namespace lmover::test
