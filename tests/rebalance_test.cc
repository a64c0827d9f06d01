// delete --rebalance-percent P --seed N (the original tool's percent_to_delete): removes a seeded,
// reproducible share of the target's files that are unchanged single-link copies, so the next copy
// pass writes them again (with the new layout policy), and never anything that would be lost.
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include <gtest/gtest.h>

#include "test_support.h"
#include "tree_oracle.h"

namespace lmover::test {
namespace {

class RebalanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    make_dir(src_);
    for (int d = 0; d < 4; ++d) {
      make_dir(src_ + "/d" + std::to_string(d));
      for (int f = 0; f < 250; ++f) write_file(src_ + "/d" + std::to_string(d) + "/f" + std::to_string(f), "data " + std::to_string(f));
    }
  }
  // A fresh exact clone of the source at `dst`.
  void clone(const std::string& dst) { ASSERT_EQ(run_lmover({"sync", src_, dst}).exit_code, 0); }
  std::set<std::string> missing(const std::string& dst) {
    std::set<std::string> out;
    for (int d = 0; d < 4; ++d) {
      for (int f = 0; f < 250; ++f) {
        std::string rel = "d" + std::to_string(d) + "/f" + std::to_string(f);
        if (!exists(dst + "/" + rel)) out.insert(rel);
      }
    }
    return out;
  }
  TempDir tmp_;
  std::string src_ = tmp_ / "src";
};

TEST_F(RebalanceTest, SeededShareIsReproducibleAndTheNextCopyRestoresTheClone) {
  std::string a = tmp_ / "a", b = tmp_ / "b", c = tmp_ / "c";
  for (const auto& d : {a, b, c}) clone(d);
  RunResult dry = run_lmover({"delete", "-n", src_, a, "--rebalance-percent", "10", "--seed", "7"});
  ASSERT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_TRUE(missing(a).empty()) << "a dry run removed files";
  size_t listed = 0;
  for (size_t p = dry.output.find("would rebalance"); p != std::string::npos; p = dry.output.find("would rebalance", p + 1)) ++listed;

  ASSERT_EQ(run_lmover({"delete", src_, a, "--rebalance-percent", "10", "--seed", "7"}).exit_code, 0);
  ASSERT_EQ(run_lmover({"delete", src_, b, "--rebalance-percent", "10", "--seed", "7"}).exit_code, 0);
  ASSERT_EQ(run_lmover({"delete", src_, c, "--rebalance-percent", "10", "--seed", "8"}).exit_code, 0);
  auto gone = missing(a);
  EXPECT_GT(gone.size(), 60u);
  EXPECT_LT(gone.size(), 140u);
  EXPECT_EQ(gone.size(), listed) << "the dry run listed another set";
  EXPECT_EQ(gone, missing(b)) << "the same seed picked other files";
  EXPECT_NE(gone, missing(c)) << "another seed picked the same files";

  RunResult copy = run_lmover({"sync", src_, a});
  ASSERT_EQ(copy.exit_code, 0) << copy.output;
  EXPECT_EQ(copy.counter("copy", "files_copied"), gone.size());
  EXPECT_TRUE(compare_trees(src_, a).empty());
}

TEST_F(RebalanceTest, NeverTakesWhatWouldBeLostOrIsNotAnUnchangedCopy) {
  std::string dst = tmp_ / "dst";
  ASSERT_EQ(link((src_ + "/d0/f0").c_str(), (src_ + "/d0/linked").c_str()), 0);
  clone(dst);
  write_file(src_ + "/d1/f1", "changed since the copy, and longer");  // the copy pass's to fix
  write_file(tmp_ / "excluded.txt", "d2/f2\n");
  RunResult r = run_lmover({"delete", src_, dst, "--rebalance-percent", "100", "--exclude-from", tmp_ / "excluded.txt"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(exists(dst + "/d0/f0") && exists(dst + "/d0/linked")) << "a hard-link group was split";
  EXPECT_TRUE(exists(dst + "/d1/f1")) << "a changed file was taken for a copy";
  EXPECT_TRUE(exists(dst + "/d2/f2")) << "an excluded file was removed";
  EXPECT_FALSE(exists(dst + "/d3/f3"));
  for (int d = 0; d < 4; ++d) EXPECT_TRUE(exists(dst + "/d" + std::to_string(d))) << "a directory went";

  // The usual guards: --max-delete caps it and fails the run.
  std::string capped = tmp_ / "capped";
  clone(capped);
  RunResult cap = run_lmover({"delete", src_, capped, "--rebalance-percent", "100", "--max-delete", "10"});
  EXPECT_EQ(cap.exit_code, 1) << cap.output;
  EXPECT_EQ(missing(capped).size(), 10u);
  EXPECT_EQ(run_lmover({"delete", src_, capped, "--rebalance-percent", "101"}).exit_code, 2);
}

}  // namespace
}  // namespace lmover::test
