#include "fs/project_id.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace lmover {
namespace {

// A filesystem that answered "no project ids" once is not asked again (on FUSE each asking opens
// the file on the server): the answer is kept by st_dev, so even an entry that could answer is not
// asked when it is given that filesystem's dev.
TEST(ProjectIdMemory, AFilesystemWithoutProjectIdsIsAskedOnce) {
  int proc = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  int tmp = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(proc, 0);
  ASSERT_GE(tmp, 0);
  struct stat proc_st {}, tmp_st {};
  ASSERT_EQ(fstat(proc, &proc_st), 0);
  ASSERT_EQ(fstat(tmp, &tmp_st), 0);
  if (!read_project_id(tmp, tmp_st.st_dev, "/tmp")) GTEST_SKIP() << "/tmp has no project ids to tell the two apart";
  EXPECT_FALSE(read_project_id(proc, proc_st.st_dev, "/proc/self/status"));  // procfs: ENOTTY
  EXPECT_FALSE(read_project_id(tmp, proc_st.st_dev, "/tmp"));                // not asked
  EXPECT_TRUE(read_project_id(tmp, tmp_st.st_dev, "/tmp"));                  // asked
  close(proc);
  close(tmp);
}

}  // namespace
}  // namespace lmover
