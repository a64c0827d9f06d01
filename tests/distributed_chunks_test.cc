// Big files in chunks over RabbitMQ with a worker killed -9 mid-file: its chunks run again on
// another node, the file is finished exactly once, and no part file is left behind.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "distributed_support.h"
#include "test_support.h"
#include "tree_oracle.h"

namespace lmover::test {
namespace {

using namespace std::chrono_literals;

TEST_F(DistributedTest, WorkerKilledMidChunkedFileLeavesAnExactCopy) {
  run_shell("head -c 48M /dev/urandom > '" + src_ + "/big' && head -c 3M /dev/urandom > '" + src_ + "/medium'");
  write_file(src_ + "/small", "x");
  auto a = worker(1), b = worker(1);
  std::string summary = tmp_ / "copy.json";
  std::vector<std::string> args = pass("copy");
  args.insert(args.end(), {"--chunk-threshold", "1M", "--chunk-size", "1M", "--json", summary});
  Process submitter(args, tmp_ / "submitter.log");
  for (int i = 0; i < 500 && part_files(dst_) == 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_GT(part_files(dst_), 0u) << "the copy was over before a chunk could be interrupted";
  a->kill9();  // mid-file: the chunks it held go back to the queue
  auto c = worker(1);
  ASSERT_EQ(submitter.wait(), 0) << submitter.log();
  EXPECT_TRUE(compare_trees(src_, dst_, OracleOptions{.dir_times = false}).empty());
  EXPECT_EQ(part_files(dst_), 0u);
  RunResult verify = run_lmover({"verify", "--content", src_, dst_, "--broker", broker_url(), "--prefix", prefix_});
  EXPECT_EQ(verify.counter("verify", "differences"), 0u) << verify.output;
  auto counters = nlohmann::json::parse(read_file(summary))["passes"][0]["counters"];
  // Each file counted once, as copied or, when the task that found it done ran again after the
  // kill, as unchanged (see the README on what a redelivered task counts as).
  EXPECT_EQ(counters["files_copied"].get<uint64_t>() + counters["unchanged"].get<uint64_t>(), 3u) << counters.dump();
  EXPECT_GE(counters["files_copied"].get<uint64_t>(), 1u) << counters.dump();
}

}  // namespace
}  // namespace lmover::test
