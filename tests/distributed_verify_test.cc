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
  run_shell("head -c 3M /dev/urandom > '" + src_ + "/big'");
  ASSERT_EQ(run_lmover({"sync", src_, dst_}).exit_code, 0);
  {  // one byte of the big file's middle chunk, its times put back: only --content sees it
    struct stat st;
    ASSERT_EQ(stat((dst_ + "/big").c_str(), &st), 0);
    run_shell("printf 'X' | dd of='" + dst_ + "/big' bs=1 seek=1500000 conv=notrunc status=none");
    set_times(dst_ + "/big", st.st_atim, st.st_mtim);
  }
  chmod((dst_ + "/d3/f3").c_str(), 0600);
  unlink((dst_ + "/d17/f29").c_str());
  auto w = worker(2);
  std::string list = tmp_ / "differences.txt";
  std::vector<std::string> args = pass("verify");
  args.insert(args.end(), {"--content", "--failures", list, "--chunk-threshold", "1M", "--chunk-size", "1M"});
  RunResult r = run_lmover(args);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  // Four: removing the file also changed its directory's mtime on the target; the big file's data
  // was compared in chunk tasks on the workers.
  EXPECT_EQ(r.counter("verify", "differences"), 4u) << r.output;
  EXPECT_NE(r.output.find("differs 'big': content in bytes [1048576, 2097152)"), std::string::npos) << r.output;
  std::string listed = read_file(list);
  EXPECT_NE(listed.find("d3/f3\n"), std::string::npos) << listed;
  EXPECT_NE(listed.find("d17/f29\n"), std::string::npos) << listed;
  EXPECT_NE(listed.find("d17\n"), std::string::npos) << listed;
  EXPECT_NE(listed.find("big\n"), std::string::npos) << listed;
}

}  // namespace
}  // namespace lmover::test
