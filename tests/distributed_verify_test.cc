// lmover verify over RabbitMQ: the same comparison on the workers, the differences reported to
// the submitter (counted, logged, listed) exactly as embedded.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "distributed_support.h"
#include "test_support.h"

namespace lmover::test {
namespace {

TEST_F(DistributedTest, VerifyFindsPlantedDifferencesOnTheWorkers) {
  build_wide_tree(20, 30);
  ASSERT_EQ(run_lmover({"sync", src_, dst_}).exit_code, 0);
  chmod((dst_ + "/d3/f3").c_str(), 0600);
  unlink((dst_ + "/d17/f29").c_str());
  auto w = worker(2);
  std::string list = tmp_ / "differences.txt";
  std::vector<std::string> args = pass("verify");
  args.insert(args.end(), {"--content", "--failures", list});
  RunResult r = run_lmover(args);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  // Three: removing the file also changed its directory's mtime on the target.
  EXPECT_EQ(r.counter("verify", "differences"), 3u) << r.output;
  std::string listed = read_file(list);
  EXPECT_NE(listed.find("d3/f3\n"), std::string::npos) << listed;
  EXPECT_NE(listed.find("d17/f29\n"), std::string::npos) << listed;
  EXPECT_NE(listed.find("d17\n"), std::string::npos) << listed;
}

}  // namespace
}  // namespace lmover::test
