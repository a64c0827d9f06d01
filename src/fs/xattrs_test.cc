#include "fs/xattrs.h"

#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

namespace lmover {
namespace {

TEST(Xattrs, LustreInternalsAreNeverCopied) {
  for (const char* name : {"lustre.lov", "trusted.lov", "trusted.lma", "trusted.link", "trusted.som", "trusted.hsm"}) {
    EXPECT_TRUE(is_filesystem_internal_xattr(name)) << name;
  }
  for (const char* name : {"user.lov", "trusted.lovely", "security.selinux", "system.posix_acl_access"}) {
    EXPECT_FALSE(is_filesystem_internal_xattr(name)) << name;
  }
}

// A pinned entry is read through its magic link: the symlink's own xattrs, never its target's.
TEST(Xattrs, APinnedSymlinkIsReadItselfAndNotFollowed) {
  if (geteuid() != 0) GTEST_SKIP() << "trusted.* xattrs on a symlink need root";
  char tmpl[] = "/tmp/lmover-xattr-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_EQ(close(openat(dir_fd, "target", O_WRONLY | O_CREAT, 0600)), 0);
  ASSERT_EQ(symlinkat("target", dir_fd, "link"), 0);
  ASSERT_EQ(setxattr((dir + "/target").c_str(), "trusted.on_target", "t", 1, 0), 0);
  if (lsetxattr((dir + "/link").c_str(), "trusted.on_link", "l", 1, 0) != 0) GTEST_SKIP() << "no xattrs on symlinks here";
  int pinned = openat(dir_fd, "link", O_PATH | O_NOFOLLOW);
  ASSERT_GE(pinned, 0);
  NodeRef node{dir_fd, "link", "link"};
  node.pinned = pinned;
  EXPECT_EQ(read_xattrs(node), (XattrList{{"trusted.on_link", "l"}}));
  EXPECT_EQ(read_xattrs(node), read_xattrs(NodeRef{dir_fd, "link", "link"}));  // the same as by name
  close(pinned);
  close(dir_fd);
  (void)system(("rm -rf " + dir).c_str());
}

TEST(Xattrs, SyncMakesTheSetEqualAndWritesNothingWhenEqual) {
  char tmpl[] = "/tmp/lmover-xattr-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  int fd = openat(dir_fd, "f", O_RDWR | O_CREAT, 0600);
  ASSERT_EQ(fsetxattr(fd, "user.stale", "1", 1, 0), 0);
  ASSERT_EQ(fsetxattr(fd, "user.keep", "old", 3, 0), 0);
  XattrList wanted = {{"user.binary", std::string("\0\xff", 2)}, {"user.keep", "new"}};
  NodeRef by_name{dir_fd, "f", "f"};  // the /proc path variant, as used for symlinks and devices
  EXPECT_TRUE(sync_xattrs(by_name, wanted));
  EXPECT_EQ(read_xattrs(NodeRef{dir_fd, "f", "f", fd}), wanted);
  EXPECT_FALSE(sync_xattrs(NodeRef{dir_fd, "f", "f", fd}, wanted));
  close(fd);
  close(dir_fd);
  (void)system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace lmover
