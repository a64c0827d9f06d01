// --only-from LIST: a pass over just the listed paths (a --failures list) and their parent
// directories, so that a few failures out of a huge tree do not need another full walk.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "test_support.h"
#include "tree_oracle.h"

namespace lmover::test {
namespace {

class OnlyFromTest : public ::testing::Test {
 protected:
  void SetUp() override {
    make_dir(src_);
    for (int d = 0; d < 20; ++d) {
      std::string dir = src_ + "/d" + std::to_string(d);
      make_dir(dir);
      make_dir(dir + "/sub");
      for (int f = 0; f < 50; ++f) write_file(dir + "/sub/f" + std::to_string(f), "content " + std::to_string(f));
    }
    ASSERT_EQ(run_lmover({"sync", src_, dst_}).exit_code, 0);
  }
  TempDir tmp_;
  std::string src_ = tmp_ / "src", dst_ = tmp_ / "dst";
};

TEST_F(OnlyFromTest, FixesTheListedPathsAndTheirParentsWithoutAFullWalk) {
  // What a failed pass left behind: three files missing, a whole directory missing, a parent
  // directory with the wrong mode; and one more missing file that is not in the list.
  for (const char* f : {"d1/sub/f1", "d7/sub/f30", "d19/sub/f49", "d4/sub/f4"}) unlink((dst_ + "/" + f).c_str());
  run_shell("rm -rf '" + dst_ + "/d12/sub'");
  chmod((dst_ + "/d7").c_str(), 0700);
  std::string list = tmp_ / "failures.txt";
  write_file(list, "d1/sub/f1\nd7/sub/f30\n./d19/sub/f49\n# a comment\nd12/sub\n");

  RunResult copy = run_lmover({"copy", src_, dst_, "--only-from", list});
  ASSERT_EQ(copy.exit_code, 0) << copy.output;
  for (const char* f : {"d1/sub/f1", "d7/sub/f30", "d19/sub/f49", "d12/sub/f0", "d12/sub/f49"}) {
    EXPECT_EQ(read_file(dst_ + "/" + f), read_file(src_ + "/" + f)) << f;
  }
  struct stat st;
  ASSERT_EQ(stat((dst_ + "/d7").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u) << "the parent's metadata was not settled";
  EXPECT_FALSE(exists(dst_ + "/d4/sub/f4")) << "a path not in the list was copied";
  // Looked at: the listed paths, d12/sub's 50 files, and the directories on the way (not 1040).
  EXPECT_LT(copy.counter("copy", "entries"), 200u) << copy.output;

  RunResult times = run_lmover({"dirtime", src_, dst_, "--only-from", list});
  ASSERT_EQ(times.exit_code, 0) << times.output;
  EXPECT_LT(times.counter("dirtime", "entries"), 20u) << times.output;
  // The full sync then only has the unlisted file left to do.
  RunResult full = run_lmover({"sync", src_, dst_});
  ASSERT_EQ(full.exit_code, 0) << full.output;
  EXPECT_EQ(full.counter("copy", "files_copied"), 1u) << full.output;
  EXPECT_TRUE(compare_trees(src_, dst_).empty());
}

TEST_F(OnlyFromTest, RefusedWithDeletesAndWithAnEmptyList) {
  std::string list = tmp_ / "failures.txt";
  write_file(list, "d1\n");
  RunResult sync = run_lmover({"sync", src_, dst_, "--only-from", list});
  EXPECT_EQ(sync.exit_code, 2) << sync.output;
  EXPECT_NE(sync.output.find("not with a pass that deletes"), std::string::npos) << sync.output;
  write_file(list, "# nothing\n");
  RunResult empty = run_lmover({"copy", src_, dst_, "--only-from", list});
  EXPECT_EQ(empty.exit_code, 2) << empty.output;
  EXPECT_NE(empty.output.find("no path in it"), std::string::npos) << empty.output;
}

}  // namespace
}  // namespace lmover::test
