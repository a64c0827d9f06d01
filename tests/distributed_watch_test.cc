// Never silently stuck: a run submitted where no worker consumes says so within seconds, naming the
// queues and how to fix it, and its progress lines say how many worker threads consume.
#include <chrono>
#include <thread>

#include "distributed_support.h"
#include "tree_oracle.h"

namespace lmover::test {
namespace {

bool wait_for_text(const Process& p, const std::string& text, std::chrono::seconds limit) {
  for (auto waited = std::chrono::milliseconds(0); waited < limit; waited += std::chrono::milliseconds(200)) {
    if (p.log().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

TEST_F(DistributedTest, ARunNoWorkerConsumesSaysSoAndGoesOnWhenOneComes) {
  build_wide_tree(5, 3);
  std::vector<std::string> args = pass("sync");
  args.insert(args.end(), {"--progress-interval", "1"});
  Process submitter(args, tmp_ / "submitter.log");
  ASSERT_TRUE(wait_for_text(submitter, "no worker is consuming " + prefix_ + ".dir and " + prefix_ + ".files",
                            std::chrono::seconds(30)))
      << submitter.log();
  EXPECT_NE(submitter.log().find("0 consumers"), std::string::npos) << submitter.log();
  EXPECT_NE(submitter.log().find("tasks pending, no worker is consuming"), std::string::npos) << submitter.log();
  auto w = worker();
  EXPECT_EQ(submitter.wait(), 0) << submitter.log() << w->log();
  EXPECT_TRUE(compare_trees(src_, dst_).empty());
}

}  // namespace
}  // namespace lmover::test
