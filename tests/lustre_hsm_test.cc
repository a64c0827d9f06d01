// HSM-released files and directory striping, against the fake liblustreapi (HSM state in
// trusted.hsm, as lustre-release's conventions answer it) and the fake kernel shim
// (fake_lustre_kernel.c), which counts every read, mmap, SEEK_DATA/SEEK_HOLE or FIEMAP of a released
// file: the restores a real client would start.
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.h"

namespace lmover::test {
namespace {

std::string get_xattr(const std::string& path, const char* key) {
  char buf[4096];
  ssize_t n = lgetxattr(path.c_str(), key, buf, sizeof buf);
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class HsmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("LMOVER_LUSTREAPI", FAKE_LUSTREAPI, 1);
    setenv("LD_PRELOAD", FAKE_LUSTRE_KERNEL, 1);
    setenv("FAKE_LUSTRE_RESTORES", restores_.c_str(), 1);
    setenv("FAKE_LUSTRE_HSM_LOG", requests_.c_str(), 1);
    make_dir(src_);
    make_dir(src_ + "/d");
    // Nine files, every third released (archive 2): a third of the tree is on tape only.
    for (int i = 0; i < 9; ++i) {
      std::string path = src_ + "/d/f" + std::to_string(i);
      write_file(path, std::string(5000 + i, static_cast<char>('a' + i)));
      chmod(path.c_str(), 0640);
      set_xattr(path, "user.tag", "t" + std::to_string(i));
      if (i % 3 == 0) {
        set_xattr(path, "trusted.hsm", "states=0xd archive=2");
        released_.push_back("d/f" + std::to_string(i));
      }
      set_times(path, ts(1600000000 + i, 123456789), ts(1600000000 + i, 987654321));
    }
  }
  void TearDown() override {
    for (const char* name : {"LMOVER_LUSTREAPI", "LD_PRELOAD", "FAKE_LUSTRE_RESTORES", "FAKE_LUSTRE_HSM_LOG"}) {
      unsetenv(name);
    }
  }
  size_t restores() const { return lines_of(restores_).size(); }

  TempDir tmp_;
  std::string src_ = tmp_ / "src";
  std::string dst_ = tmp_ / "dst";
  std::string restores_ = tmp_ / "restores";
  std::string requests_ = tmp_ / "requests";
  std::vector<std::string> released_;
};

// The shim counts for real: a copy that knows nothing of HSM restores every released file.
TEST_F(HsmTest, WithoutLustreEveryReleasedFileWouldBeRestored) {
  RunResult r = run_lmover({"copy", "--lustre", "off", src_, dst_});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_GE(restores(), released_.size());
}

TEST_F(HsmTest, SkipDefersReleasedFilesListsThemAndRestoresNothing) {
  std::string failures = tmp_ / "failures";
  RunResult r = run_lmover({"copy", "--lustre", "on", "--failures", failures, src_, dst_});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(restores(), 0u) << read_file(restores_);
  EXPECT_EQ(r.counter("copy", "hsm_released"), 3u);
  EXPECT_EQ(r.counter("copy", "hsm_deferred"), 3u);
  EXPECT_EQ(r.counter("copy", "errors"), 0u);
  EXPECT_EQ(r.counter("copy", "files_copied"), 6u);
  std::vector<std::string> listed = lines_of(failures);
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(listed, released_);
  for (const std::string& rel : released_) EXPECT_FALSE(exists(dst_ + "/" + rel)) << rel;
  EXPECT_EQ(read_file(dst_ + "/d/f1"), read_file(src_ + "/d/f1"));
}

TEST_F(HsmTest, StubMakesReleasedTargetsWithTheSourcesMetadataAndARebindList) {
  std::string rebind = tmp_ / "rebind";
  RunResult r = run_lmover({"sync", "--lustre", "on", "--hsm", "stub", "--hsm-rebind", rebind, src_, dst_});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(restores(), 0u) << read_file(restores_);
  EXPECT_EQ(r.counter("copy", "hsm_stubbed"), 3u);
  for (const std::string& rel : released_) {
    std::string s = src_ + "/" + rel, d = dst_ + "/" + rel;
    struct stat a{}, b{};
    ASSERT_EQ(lstat(s.c_str(), &a), 0);
    ASSERT_EQ(lstat(d.c_str(), &b), 0) << rel;
    EXPECT_EQ(get_xattr(d, "trusted.hsm"), "states=0xd archive=2") << rel;
    EXPECT_EQ(a.st_size, b.st_size);
    EXPECT_EQ(a.st_mode, b.st_mode);
    EXPECT_EQ(a.st_uid, b.st_uid);
    EXPECT_EQ(a.st_gid, b.st_gid);
    EXPECT_EQ(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
    EXPECT_EQ(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
    EXPECT_EQ(get_xattr(d, "user.tag"), get_xattr(s, "user.tag"));
  }
  // One "old new" line per stub, after a comment line lhsmtool_posix skips.
  std::vector<std::string> lines = lines_of(rebind);
  ASSERT_EQ(lines.size(), 4u) << read_file(rebind);
  EXPECT_EQ(lines[0].rfind("# lmover", 0), 0u);
  for (size_t i = 1; i < lines.size(); ++i) {
    std::istringstream in(lines[i]);
    std::string old_fid, new_fid;
    in >> old_fid >> new_fid;
    EXPECT_EQ(old_fid.rfind("[0x2", 0), 0u) << lines[i];
    EXPECT_EQ(new_fid.rfind("[0x2", 0), 0u) << lines[i];
    EXPECT_NE(old_fid, new_fid);
  }
  // The next pass finds nothing to do and restores nothing; verify agrees, and reads no stub.
  RunResult again = run_lmover({"sync", "--lustre", "on", "--hsm", "stub", "--hsm-rebind", rebind, src_, dst_});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(again.actions("copy"), 0u) << again.output;
  RunResult verify = run_lmover({"verify", "--lustre", "on", "--content", src_, dst_});
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_EQ(restores(), 0u) << read_file(restores_);
}

TEST_F(HsmTest, RestoreBringsFilesBackInBatchesThenCopiesThem) {
  RunResult r = run_lmover({"copy", "--lustre", "on", "--hsm", "restore", "--hsm-batch", "2", src_, dst_});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.counter("copy", "hsm_restored"), 3u);
  EXPECT_EQ(r.counter("copy", "files_copied"), 9u);
  EXPECT_EQ(lines_of(requests_), (std::vector<std::string>{"restore 2", "restore 1"}));
  for (int i = 0; i < 9; ++i) {
    std::string rel = "/d/f" + std::to_string(i);
    EXPECT_EQ(read_file(dst_ + rel), read_file(src_ + rel)) << rel;
  }
}

TEST_F(HsmTest, ARestoreThatNeverComesBackIsDeferredNotRead) {
  setenv("FAKE_LUSTRE_HSM_STUCK", "1", 1);
  RunResult r = run_lmover({"copy", "--lustre", "on", "--hsm", "restore", "--hsm-restore-timeout", "1", src_, dst_});
  unsetenv("FAKE_LUSTRE_HSM_STUCK");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.counter("copy", "hsm_deferred"), 3u);
  EXPECT_EQ(restores(), 0u) << read_file(restores_);
}

// --dir-layout copy: a striped directory (LMV) and a default LMV, as the kernel shim records them.
TEST_F(HsmTest, DirectoryStripingAndDefaultLmvAreCopied) {
  make_dir(src_ + "/striped");
  set_xattr(src_ + "/striped", "trusted.lmv", "mdt=1 stripes=3 hash=3");
  set_xattr(src_ + "/d", "trusted.dmv", "count=2 offset=-1 hash=2 inherit=3 rr=0 pool=-");
  RunResult r = run_lmover({"copy", "--lustre", "on", "--hsm", "stub", "--hsm-rebind", tmp_ / "rb", "--dir-layout",
                            "copy", src_, dst_});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(get_xattr(dst_ + "/striped", "trusted.lmv"), "mdt=1 stripes=3 hash=3");
  EXPECT_EQ(get_xattr(dst_ + "/d", "trusted.dmv"), "count=2 offset=-1 hash=2 inherit=3 rr=0 pool=-");
  // Without --dir-layout copy, neither is asked for.
  std::string plain = tmp_ / "plain";
  RunResult keep = run_lmover({"copy", "--lustre", "on", "--hsm", "stub", "--hsm-rebind", tmp_ / "rb", src_, plain});
  ASSERT_EQ(keep.exit_code, 0) << keep.output;
  EXPECT_EQ(get_xattr(plain + "/striped", "trusted.lmv"), "");
  EXPECT_EQ(get_xattr(plain + "/d", "trusted.dmv"), "");
}

}  // namespace
}  // namespace lmover::test

namespace lmover::test {
namespace {

// Data versions: a later pass that cannot tell from the times compares the version the target was
// copied from with the source's, not the bytes.
TEST(DataVersionTest, LaterPassesCompareDataVersionsInsteadOfBytes) {
  setenv("LMOVER_LUSTREAPI", FAKE_LUSTREAPI, 1);
  TempDir tmp;
  std::string src = tmp / "src", dst = tmp / "dst";
  make_dir(src);
  write_file(src + "/f", "version one.");
  set_times(src + "/f", ts(1600000000, 0), ts(1600000000, 0));
  RunResult first = run_lmover({"copy", "--lustre", "on", src, dst});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  ASSERT_FALSE(get_xattr(dst + "/f", "trusted.lmover.dv").empty());

  // Rewritten at the same size with its mtime put back: the version moved, so it is copied.
  write_file(src + "/f", "version two.");
  set_times(src + "/f", ts(1600000000, 0), ts(1600000000, 0));
  RunResult second = run_lmover({"copy", "--lustre", "on", src, dst});
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(second.counter("copy", "files_copied"), 1u);
  EXPECT_EQ(read_file(dst + "/f"), "version two.");

  // A chmod only: the version did not move, so the data are taken as the same without reading
  // them, which bytes changed behind lmover's back on the target show (verify --content is for
  // edits made on the target).
  write_file(dst + "/f.tmp", "VERSION TWO.");
  run_shell("cat '" + dst + "/f.tmp' > '" + dst + "/f' && rm '" + dst + "/f.tmp'");
  set_times(dst + "/f", ts(1600000000, 0), ts(1600000000, 0));
  chmod((src + "/f").c_str(), 0600);
  RunResult third = run_lmover({"copy", "--lustre", "on", src, dst});
  unsetenv("LMOVER_LUSTREAPI");
  ASSERT_EQ(third.exit_code, 0) << third.output;
  EXPECT_EQ(third.counter("copy", "files_copied"), 0u);
  EXPECT_EQ(third.counter("copy", "metadata_updated"), 1u);
  EXPECT_EQ(read_file(dst + "/f"), "VERSION TWO.");
}

}  // namespace
}  // namespace lmover::test
