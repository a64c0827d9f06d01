// Project ids and the project-inherit flag, for real on a loop-mounted XFS image (tmpfs cannot hold
// them). Skipped, with the reason shown, where the test may not create and mount one.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <gtest/gtest.h>

#include "test_support.h"
#include "tree_oracle.h"

namespace lmover::test {
namespace {

struct Project {
  unsigned id;
  bool inherit;
  bool operator==(const Project&) const = default;
};

int open_entry(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(path + ": " + strerror(errno));
  return fd;
}

Project project_of(const std::string& path) {
  int fd = open_entry(path);
  fsxattr fsx{};
  int rc = ioctl(fd, FS_IOC_FSGETXATTR, &fsx);
  close(fd);
  if (rc < 0) throw std::runtime_error(path + ": FS_IOC_FSGETXATTR: " + strerror(errno));
  return {fsx.fsx_projid, (fsx.fsx_xflags & FS_XFLAG_PROJINHERIT) != 0};
}

void set_project(const std::string& path, unsigned id, bool inherit = false) {
  int fd = open_entry(path);
  fsxattr fsx{};
  int rc = ioctl(fd, FS_IOC_FSGETXATTR, &fsx);
  fsx.fsx_projid = id;
  if (inherit) fsx.fsx_xflags |= FS_XFLAG_PROJINHERIT;
  if (rc == 0) rc = ioctl(fd, FS_IOC_FSSETXATTR, &fsx);
  close(fd);
  if (rc < 0) throw std::runtime_error(path + ": FS_IOC_FSSETXATTR: " + strerror(errno));
}

class ProjectIdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string image = tmp_ / "xfs.img";
    make_dir(mnt_);
    std::string make = "truncate -s 320M '" + image + "' && mkfs.xfs -q '" + image + "' 2>/dev/null && mount -o loop '" +
                       image + "' '" + mnt_ + "' 2>/dev/null";
    if (std::system(make.c_str()) != 0) GTEST_SKIP() << "cannot make and loop-mount an XFS image here (mkfs.xfs, loop devices, root)";
    mounted_ = true;
    make_dir(src_);
  }
  void TearDown() override {
    if (mounted_) umount2(mnt_.c_str(), MNT_DETACH);
  }
  TempDir tmp_;
  std::string mnt_ = tmp_ / "xfs";
  std::string src_ = mnt_ + "/src", dst_ = mnt_ + "/dst";
  bool mounted_ = false;
};

TEST_F(ProjectIdTest, ProjectIdsAndInheritFlagsAreCopiedAndFollowChanges) {
  make_dir(src_ + "/proj");
  set_project(src_ + "/proj", 7, true);
  write_file(src_ + "/proj/inherited", "gets 7 from its directory");
  write_file(src_ + "/own", "42");
  set_project(src_ + "/own", 42);
  write_file(src_ + "/none", "0");
  make_dir(src_ + "/plain");
  ASSERT_EQ(project_of(src_ + "/proj/inherited"), (Project{7, false}));

  RunResult first = run_lmover({"sync", src_, dst_});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  for (const char* rel : {"proj", "proj/inherited", "own", "none", "plain"}) {
    EXPECT_EQ(project_of(dst_ + "/" + rel), project_of(src_ + "/" + rel)) << rel;
  }
  EXPECT_EQ(project_of(dst_ + "/proj"), (Project{7, true}));
  EXPECT_TRUE(compare_trees(src_, dst_).empty());

  // A changed project id changes the ctime: the next pass sees it and carries it over. The kernel
  // stamps ctimes from a clock that ticks every few ms, so a change in the very tick the copy
  // finished would look as old as the copy (the same holds for an xattr edit): wait one out.
  usleep(20000);
  set_project(src_ + "/own", 43);
  set_project(src_ + "/plain", 9, true);
  RunResult second = run_lmover({"sync", src_, dst_});
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(project_of(dst_ + "/own"), (Project{43, false}));
  EXPECT_EQ(project_of(dst_ + "/plain"), (Project{9, true}));
  EXPECT_EQ(second.counter("copy", "metadata_updated"), 2u) << second.output;

  RunResult again = run_lmover({"sync", src_, dst_});
  EXPECT_EQ(again.actions("copy") + again.actions("delete") + again.actions("dirtime"), 0u) << again.output;
  EXPECT_TRUE(compare_trees(src_, dst_).empty());
}

// A target that cannot hold project ids (tmpfs here) gets everything else, and one warning.
TEST_F(ProjectIdTest, TargetWithoutProjectIdsIsWarnedOnceAndGetsTheRest) {
  for (int i = 0; i < 5; ++i) {
    write_file(src_ + "/f" + std::to_string(i), "x");
    set_project(src_ + "/f" + std::to_string(i), 100 + i);
  }
  std::string elsewhere = tmp_ / "tmpfs-dst";
  RunResult r = run_lmover({"sync", src_, elsewhere});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  size_t first = r.output.find("cannot hold project ids");
  EXPECT_NE(first, std::string::npos) << r.output;
  EXPECT_EQ(first, r.output.rfind("cannot hold project ids")) << r.output;
  EXPECT_TRUE(compare_trees(src_, elsewhere).empty());
}

}  // namespace
}  // namespace lmover::test
