#include "fs/entry_meta.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

namespace lmover {
namespace {

// restat_fd is what a copy compares its first stat with: every field stat_fd gives but the atime.
TEST(EntryMeta, RestatGivesWhatStatGivesButTheAtime) {
  char tmpl[] = "/tmp/lmover-meta-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  int fd = open((dir + "/f").c_str(), O_RDWR | O_CREAT, 0640);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "abc", 3), 3);
  ASSERT_EQ(linkat(AT_FDCWD, (dir + "/f").c_str(), AT_FDCWD, (dir + "/g").c_str(), 0), 0);
  EntryMeta full = stat_fd(fd, "f");
  EntryMeta again = restat_fd(fd, "f");
  EXPECT_EQ(again.type, full.type);
  EXPECT_EQ(again.perm, full.perm);
  EXPECT_EQ(again.uid, full.uid);
  EXPECT_EQ(again.gid, full.gid);
  EXPECT_EQ(again.size, 3);
  EXPECT_EQ(again.blocks, full.blocks);
  EXPECT_EQ(again.nlink, 2u);
  EXPECT_EQ(again.dev, full.dev);
  EXPECT_EQ(again.ino, full.ino);
  EXPECT_EQ(again.rdev, full.rdev);
  EXPECT_TRUE(same_time(again.mtime, full.mtime));
  EXPECT_TRUE(same_time(again.ctime, full.ctime));
  EXPECT_TRUE(same_time(again.atime, timespec{}));
  int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  EXPECT_EQ(restat_fd(dir_fd, "").type, EntryType::kDirectory);
  close(dir_fd);
  close(fd);
  (void)system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace lmover
