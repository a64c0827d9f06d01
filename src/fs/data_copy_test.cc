#include "fs/data_copy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace lmover {
namespace {

class DataCopyTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    std::string tmpl = std::string(GetParam()) + "/lmover-copy-XXXXXX";
    dir_ = mkdtemp(tmpl.data());
  }
  void TearDown() override { (void)system(("rm -rf " + dir_).c_str()); }

  // Copies `src` to a new file and returns its path.
  std::string copy(const std::string& src) {
    int in = open(src.c_str(), O_RDONLY);
    std::string out_path = src + ".copy";
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    struct stat st;
    fstat(in, &st);
    EXPECT_EQ(copy_data(in, out, EntryMeta::from_stat(st), "f"), uint64_t(st.st_size) - holes_);
    close(in);
    close(out);
    return out_path;
  }

  static std::string slurp(const std::string& path) {
    std::string s;
    int fd = open(path.c_str(), O_RDONLY);
    char buf[65536];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) s.append(buf, size_t(n));
    close(fd);
    return s;
  }

  std::string dir_;
  uint64_t holes_ = 0;
};

TEST_P(DataCopyTest, DenseFilesOfManySizes) {
  std::mt19937 rng(1);
  for (size_t size : {size_t(0), size_t(1), size_t(4096), size_t(100000), size_t(3 << 20) + 7}) {
    std::string data(size, '\0');
    for (auto& c : data) c = char(rng());
    std::string path = dir_ + "/dense" + std::to_string(size);
    int fd = open(path.c_str(), O_WRONLY | O_CREAT, 0600);
    ASSERT_EQ(write(fd, data.data(), size), ssize_t(size));
    close(fd);
    EXPECT_EQ(slurp(copy(path)), data) << size;
  }
}

TEST_P(DataCopyTest, HolesStayHoles) {
  std::string path = dir_ + "/sparse";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT, 0600);
  const off_t size = 256 << 20;
  ASSERT_EQ(ftruncate(fd, size), 0);
  std::string block(8192, 'd');
  ASSERT_EQ(pwrite(fd, block.data(), block.size(), 1 << 20), ssize_t(block.size()));
  ASSERT_EQ(pwrite(fd, block.data(), block.size(), 100 << 20), ssize_t(block.size()));
  close(fd);
  struct stat st;
  stat(path.c_str(), &st);
  holes_ = uint64_t(size) - 2 * block.size();
  std::string out = copy(path);
  struct stat ct;
  stat(out.c_str(), &ct);
  EXPECT_EQ(ct.st_size, size);
  EXPECT_LE(ct.st_blocks, st.st_blocks) << "holes were filled";
  EXPECT_EQ(slurp(out), slurp(path));
}

INSTANTIATE_TEST_SUITE_P(OnDiskAndTmpfs, DataCopyTest, ::testing::Values("/tmp", "/dev/shm"));

}  // namespace
}  // namespace lmover
