#include "fs/resolve.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "fs/fs_error.h"

namespace lmover {
namespace {

class ResolveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lmover-resolve-XXXXXX";
    dir_ = mkdtemp(tmpl);
    ASSERT_EQ(mkdir((dir_ + "/root").c_str(), 0755), 0);
    ASSERT_EQ(mkdir((dir_ + "/root/a").c_str(), 0755), 0);
    ASSERT_EQ(mkdir((dir_ + "/root/a/b").c_str(), 0755), 0);
    ASSERT_EQ(mkdir((dir_ + "/outside").c_str(), 0755), 0);
    ASSERT_EQ(symlink("../outside", (dir_ + "/root/escape").c_str()), 0);
    ASSERT_EQ(symlink("b", (dir_ + "/root/a/inner").c_str()), 0);
    root_ = UniqueFd(open((dir_ + "/root").c_str(), O_RDONLY | O_DIRECTORY));
  }
  void TearDown() override { (void)system(("rm -rf " + dir_).c_str()); }

  int errno_of(std::string_view rel) {
    try {
      open_dir_beneath(root_.get(), rel);
    } catch (const FsError& e) {
      return e.err();
    }
    return 0;
  }

  // A symlink as the last component fails O_DIRECTORY (ENOTDIR); inside the path, ELOOP.
  bool refused_as_symlink(std::string_view rel) {
    int err = errno_of(rel);
    return err == ELOOP || err == ENOTDIR;
  }

  std::string dir_;
  UniqueFd root_;
};

TEST_F(ResolveTest, OpensPlainDirectories) {
  EXPECT_EQ(errno_of(""), 0);
  EXPECT_EQ(errno_of("a"), 0);
  EXPECT_EQ(errno_of("a/b"), 0);
}

TEST_F(ResolveTest, RefusesSymlinksAnywhereOnThePath) {
  EXPECT_TRUE(refused_as_symlink("escape"));
  EXPECT_TRUE(refused_as_symlink("a/inner"));
  EXPECT_EQ(errno_of("escape/x"), ELOOP);
  EXPECT_EQ(errno_of("a/inner/x"), ELOOP);
}

TEST_F(ResolveTest, RefusesToClimbOutOfTheRoot) {
  EXPECT_NE(errno_of(".."), 0);
  EXPECT_NE(errno_of("a/../../outside"), 0);
}

TEST_F(ResolveTest, ReachesDirectoriesBeyondPathMax) {
  std::string name(250, 'x'), rel;
  UniqueFd cur(open((dir_ + "/root").c_str(), O_RDONLY | O_DIRECTORY));
  for (int i = 0; i < 25; ++i) {
    ASSERT_EQ(mkdirat(cur.get(), name.c_str(), 0755), 0);
    cur = UniqueFd(openat(cur.get(), name.c_str(), O_RDONLY | O_DIRECTORY));
    rel += (rel.empty() ? "" : "/") + name;
  }
  ASSERT_GT(rel.size(), size_t(PATH_MAX));
  UniqueFd deep = open_dir_beneath(root_.get(), rel);
  struct stat a, b;
  fstat(deep.get(), &a);
  fstat(cur.get(), &b);
  EXPECT_EQ(a.st_ino, b.st_ino);
  // A symlink deep down is refused on the component-by-component path too.
  ASSERT_EQ(symlinkat("/", cur.get(), "link"), 0);
  EXPECT_TRUE(refused_as_symlink(rel + "/link"));
  EXPECT_TRUE(refused_as_symlink(rel + "/link/tmp"));  // per component: O_DIRECTORY|O_NOFOLLOW
}

}  // namespace
}  // namespace lmover
