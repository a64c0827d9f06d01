// The adapter's reading of each liblustreapi function's return convention, one test per
// convention, against the fake library (tests/fake_lustreapi.c), which answers as lustre-release
// does (each of its functions names the upstream source it follows). Where the convention is
// "0 or -errno", the fake's failure leaves errno at something else, so a wrapper that read errno
// instead of the return value fails here; where it is "0, or -1 with errno", the wrapper must pass
// errno on. The pool test is the one the earlier reading got wrong: every file lost its pool.
#include "lustre/lustre_api.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "test_support.h"

namespace lmover::test {
namespace {

class LustreApiConventions : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("LMOVER_LUSTREAPI", FAKE_LUSTREAPI, 1);
    unsetenv("FAKE_LUSTRE_POOLS");
    unsetenv("FAKE_LUSTRE_NO_RESYNC");
    std::string why;
    api_ = LustreApi::load(&why);
    ASSERT_TRUE(api_) << why;
    make_dir(dir_);
  }
  void TearDown() override {
    unsetenv("LMOVER_LUSTREAPI");
    unsetenv("FAKE_LUSTRE_NO_RESYNC");
  }

  // A regular file at `name` in the test directory, open read-only; `lov` as its fake layout.
  int file(const std::string& name, const std::string& lov = "") {
    std::string path = dir_ + "/" + name;
    write_file(path, "data");
    if (!lov.empty()) {
      EXPECT_EQ(setxattr(path.c_str(), "trusted.lov", lov.data(), lov.size(), 0), 0);
    }
    int fd = open(path.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0) << path;
    return fd;
  }

  TempDir tmp_;
  std::string dir_ = tmp_.path() + "/fs";
  std::unique_ptr<LustreApi> api_;
};

// llapi_layout_pool_name_get: 0 on success with the name in the buffer (not its length).
TEST_F(LustreApiConventions, PoolNameGetReturnsZeroAndTheNameIsRead) {
  int fd = file("pooled", "composite 0\n0 18446744073709551615 2 1048576 0 fast\n");
  auto layout = api_->layout_of(fd);
  close(fd);
  ASSERT_TRUE(layout);
  ASSERT_EQ(layout->components.size(), 1u);
  EXPECT_EQ(layout->components[0].pool, "fast");
  EXPECT_EQ(layout->components[0].stripe_count, 2u);
}

// llapi_layout_get_by_fd: a directory without a default layout is a layout of defaults, not NULL;
// the adapter calls that "none" (ENODATA), so no target directory gets a default of its own.
TEST_F(LustreApiConventions, ADirectoryWithoutADefaultLayoutReadsAsNone) {
  int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_FALSE(api_->layout_of(fd));
  EXPECT_EQ(errno, ENODATA);
  close(fd);
}

// llapi_layout_file_create: an fd, or -1 with errno (EINVAL for a pool the target lacks).
TEST_F(LustreApiConventions, FileCreateGivesMinusOneAndErrno) {
  Layout layout;
  layout.components.push_back(LayoutComponent{.stripe_count = 1, .stripe_size = 1 << 20, .pool = "nosuchpool"});
  errno = 0;
  EXPECT_EQ(api_->create_file(dir_ + "/refused", O_WRONLY, 0644, layout), -1);
  EXPECT_EQ(errno, EINVAL);
  layout.components[0].pool = "slow";
  int fd = api_->create_file(dir_ + "/made", O_WRONLY, 0644, layout);
  ASSERT_GE(fd, 0);
  auto read_back = api_->layout_of(fd);
  close(fd);
  ASSERT_TRUE(read_back);
  EXPECT_EQ(read_back->components[0].pool, "slow");
}

// llapi_file_fget_mdtidx: 0 or -errno.
TEST_F(LustreApiConventions, MdtIndexTakesTheErrorFromTheReturnValue) {
  std::string junk = "not an lmv";
  ASSERT_EQ(setxattr(dir_.c_str(), "trusted.lmv", junk.data(), junk.size(), 0), 0);
  int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(api_->mdt_index(fd), -1);
  EXPECT_EQ(errno, EINVAL);
  close(fd);
}

// llapi_dir_create_pool: 0 or -errno.
TEST_F(LustreApiConventions, DirCreateTakesTheErrorFromTheReturnValue) {
  errno = 0;
  EXPECT_EQ(api_->make_dir_on_mdt(dir_ + "/far", 0755, 99), -1);  // the fake has 4 MDTs
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(api_->make_dir_on_mdt(dir_ + "/near", 0755, 1), 0);
  int fd = open((dir_ + "/near").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(api_->mdt_index(fd), 1);
  close(fd);
}

// llapi_get_fsname_instance: 0 or -errno; not on Lustre is ENOTTY.
TEST_F(LustreApiConventions, FsnameInstanceTakesTheErrorFromTheReturnValue) {
  errno = 0;
  EXPECT_FALSE(api_->fsname_instance(dir_));
  EXPECT_EQ(errno, ENOTTY);  // the fake's getxattr left ENODATA
  std::string uuid = "lustre-clilov-ffff8881f7c1d000";
  ASSERT_EQ(setxattr(dir_.c_str(), "trusted.fake_clilov", uuid.data(), uuid.size(), 0), 0);
  auto named = api_->fsname_instance(dir_);
  ASSERT_TRUE(named);
  EXPECT_EQ(named->first, "lustre");
  EXPECT_EQ(named->second, "ffff8881f7c1d000");
}

// llapi_hsm_state_get_fd: 0 or -errno, the states in the struct.
TEST_F(LustreApiConventions, HsmStateReadsTheStatesOrTheReturnedError) {
  int fd = file("released");
  std::string hsm = "states=0xd archive=3";  // exists, archived, released
  ASSERT_EQ(fsetxattr(fd, "trusted.hsm", hsm.data(), hsm.size(), 0), 0);
  auto state = api_->hsm_state(fd);
  close(fd);
  ASSERT_TRUE(state);
  EXPECT_TRUE(state->released());
  EXPECT_EQ(state->archive_id, 3u);
  errno = 0;
  EXPECT_FALSE(api_->hsm_state(-1));
  EXPECT_EQ(errno, EBADF);
}

// llapi_get_data_version: 0 or -errno (EINVAL for what is not a regular file); 0 in the version
// says the file has no objects, which the adapter does not take for a version.
TEST_F(LustreApiConventions, DataVersionTakesTheErrorFromTheReturnValue) {
  int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_FALSE(api_->data_version(fd, false));
  EXPECT_EQ(errno, EINVAL);
  close(fd);
  fd = file("versioned");
  auto dv = api_->data_version(fd, false);
  close(fd);
  ASSERT_TRUE(dv);
  EXPECT_NE(*dv, 0u);
}

// llapi_fd2fid: 0 or -errno.
TEST_F(LustreApiConventions, FidOfReadsAFidOrTheReturnedError) {
  int fd = file("fid");
  auto fid = api_->fid_of(fd);
  close(fd);
  ASSERT_TRUE(fid);
  EXPECT_EQ(fid->text().rfind("[0x2000004", 0), 0u) << fid->text();
  errno = 0;
  EXPECT_FALSE(api_->fid_of(-1));
  EXPECT_EQ(errno, EBADF);
}

// llapi_hsm_import: 0 or a negative errno (EEXIST for a name that is taken, with errno untouched).
TEST_F(LustreApiConventions, HsmImportTakesTheErrorFromTheReturnValue) {
  int fd = file("taken");
  struct stat st {};
  ASSERT_EQ(fstat(fd, &st), 0);
  close(fd);
  Fid made;
  errno = 0;
  EXPECT_EQ(api_->hsm_import(dir_ + "/taken", 1, st, std::nullopt, &made), -1);
  EXPECT_EQ(errno, EEXIST);
  EXPECT_EQ(api_->hsm_import(dir_ + "/stub", 1, st, std::nullopt, &made), 0);
  fd = open((dir_ + "/stub").c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(fd, 0);
  auto state = api_->hsm_state(fd);
  close(fd);
  ASSERT_TRUE(state);
  EXPECT_TRUE(state->released());
}

// llapi_hsm_request: 0 or -errno.
TEST_F(LustreApiConventions, HsmRequestTakesTheErrorFromTheReturnValue) {
  int fd = file("archived");
  auto fid = api_->fid_of(fd);
  close(fd);
  ASSERT_TRUE(fid);
  errno = 0;
  EXPECT_EQ(api_->hsm_restore(dir_ + "/no-such-dir", {*fid}), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(api_->hsm_restore(dir_, {*fid}), 0);
}

// llapi_lease_set and llapi_mirror_resync_many: 0 or -errno; the adapter gives the errno value.
TEST_F(LustreApiConventions, ResyncGivesTheLeasesErrorAsAValue) {
  int fd = file("mirrored", "composite 1 mirrors=2 flr=2\n0 18446744073709551615 1 1048576 0 - m=1 f=0\n"
                            "0 18446744073709551615 1 1048576 0 - m=2 f=1\n");
  setenv("FAKE_LUSTRE_NO_RESYNC", "1", 1);
  errno = 0;
  EXPECT_EQ(api_->resync_mirrors(&fd), EOPNOTSUPP);
  close(fd);
}

}  // namespace
}  // namespace lmover::test
