// Hard-link groups whose target side a live source left wrong: one quiet sync makes them whole.
//
// The copy pass judges a group settled by its link count. A target inode can have the right count
// with a wrong name among its names: one the source no longer has, which the delete pass removes
// only after the copy judged the group. A live pass (a name renamed into another directory, one
// deleted, one rewritten) leaves exactly that; then the copy took both halves for settled and the
// delete split the group. The sync now copies again (relink) when its delete removed a name of a
// shared target inode, so the clone is exact after one sync; verify names a split group as such.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "test_support.h"
#include "tree_oracle.h"

namespace lmover::test {
namespace {

ino_t inode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

class LinkGroups : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* d : {"src", "src/a", "src/b"}) make_dir(tmp_ / d);
    write_file(tmp_ / "src/a/A", "group data");
    ASSERT_EQ(link((tmp_ / "src/a/A").c_str(), (tmp_ / "src/b/B").c_str()), 0);
    ASSERT_EQ(run_lmover({"sync", src_, dst_, "--no-progress"}).exit_code, 0);
  }
  // Target: A shares its inode with a name the source lacks (C), B has an inode of its own that
  // it shares with another such name (gone/E); every link count, size, time and owner matches.
  void split_the_target() {
    ASSERT_EQ(link((dst_ + "/a/A").c_str(), (dst_ + "/a/C").c_str()), 0);
    run_shell("cp -a '" + dst_ + "/b/B' '" + dst_ + "/b/B.tmp' && mv '" + dst_ + "/b/B.tmp' '" + dst_ + "/b/B'");
    make_dir(dst_ + "/gone");
    ASSERT_EQ(link((dst_ + "/b/B").c_str(), (dst_ + "/gone/E").c_str()), 0);
    ASSERT_NE(inode_of(dst_ + "/a/A"), inode_of(dst_ + "/b/B"));
  }

  TempDir tmp_;
  std::string src_ = tmp_ / "src", dst_ = tmp_ / "dst";
};

TEST_F(LinkGroups, AGroupSplitBehindMatchingLinkCountsIsMadeWholeByOneSync) {
  split_the_target();
  RunResult sync = run_lmover({"sync", src_, dst_, "--no-progress"});
  ASSERT_EQ(sync.exit_code, 0) << sync.output;
  EXPECT_EQ(sync.counter("delete", "shared_names_removed"), 2u) << sync.output;
  EXPECT_GT(sync.actions("relink"), 0u) << sync.output;
  EXPECT_EQ(inode_of(dst_ + "/a/A"), inode_of(dst_ + "/b/B")) << "the group is still split";
  auto diffs = compare_trees(src_, dst_);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
  // And the next sync has nothing to do: no relink either.
  RunResult again = run_lmover({"sync", src_, dst_, "--no-progress"});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(again.actions("copy") + again.actions("delete") + again.actions("dirtime"), 0u) << again.output;
  EXPECT_EQ(again.summary["passes"].size(), 3u) << again.output;
}

TEST_F(LinkGroups, VerifyNamesASplitGroupAsSuch) {
  run_shell("cp -a '" + dst_ + "/b/B' '" + dst_ + "/b/B.tmp' && mv '" + dst_ + "/b/B.tmp' '" + dst_ + "/b/B'");
  RunResult verify = run_lmover({"verify", src_, dst_, "--no-progress"});
  EXPECT_EQ(verify.exit_code, 1) << verify.output;
  EXPECT_NE(verify.output.find("hard-link group split on the target: link count 2 vs 1"), std::string::npos)
      << verify.output;
}

// A delete alone (no copy before it in the command) does not copy: it only says, by the counter
// and the moved mtimes, that the next copy has groups to settle.
TEST_F(LinkGroups, ADeleteAloneDoesNotCopy) {
  split_the_target();
  RunResult del = run_lmover({"delete", src_, dst_, "--no-progress"});
  ASSERT_EQ(del.exit_code, 0) << del.output;
  EXPECT_EQ(del.summary["passes"].size(), 1u) << del.output;
  EXPECT_EQ(del.counter("delete", "shared_names_removed"), 2u) << del.output;
  RunResult sync = run_lmover({"sync", src_, dst_, "--no-progress"});
  ASSERT_EQ(sync.exit_code, 0) << sync.output;
  auto diffs = compare_trees(src_, dst_);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
}

}  // namespace
}  // namespace lmover::test
