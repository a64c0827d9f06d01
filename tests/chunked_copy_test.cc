// Big files in chunks (embedded): copied exactly, holes kept, each file counted once, no part
// file left; a changed big file is rewritten in chunks under its name; a re-run does nothing.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>

#include <gtest/gtest.h>

#include "test_support.h"
#include "tree_oracle.h"

namespace lmover::test {
namespace {

TEST(ChunkedCopyTest, BigFilesInChunksAreExactAndCountedOnce) {
  TempDir tmp;
  std::string src = tmp / "src", dst = tmp / "dst";
  make_dir(src);
  run_shell("head -c 5M /dev/urandom > '" + src + "/random' && truncate -s 20M '" + src + "/sparse' && dd if=/dev/urandom of='" +
            src + "/sparse' bs=1M count=2 seek=7 conv=notrunc status=none");
  write_file(src + "/small", "below the threshold");
  std::vector<std::string> chunks = {"--chunk-threshold", "1M", "--chunk-size", "512K", "-j", "4"};
  auto with_chunks = [&](std::vector<std::string> args) {
    args.insert(args.end(), chunks.begin(), chunks.end());
    return run_lmover(args);
  };
  RunResult first = with_chunks({"sync", "-v", src, dst});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("copy-in-chunks(10x524288) random"), std::string::npos) << first.output;
  EXPECT_EQ(first.counter("copy", "files_copied"), 3u);
  EXPECT_EQ(first.counter("copy", "bytes_copied"), (5u + 2u) * 1024 * 1024 + 19);  // data only, not the holes
  EXPECT_TRUE(compare_trees(src, dst).empty());  // holes included: no more blocks than the source
  EXPECT_EQ(part_files(dst), 0u);
  RunResult verify = run_lmover({"verify", "--content", src, dst});
  EXPECT_EQ(verify.exit_code, 0) << verify.output;

  // Changed at the same size: rewritten in chunks, then renamed over the old copy.
  run_shell("head -c 5M /dev/urandom > '" + src + "/random'");
  RunResult second = with_chunks({"sync", src, dst});
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(second.counter("copy", "files_copied"), 1u);
  EXPECT_EQ(run_lmover({"verify", "--content", src, dst}).exit_code, 0);
  RunResult again = with_chunks({"sync", src, dst});
  EXPECT_EQ(again.actions("copy") + again.actions("delete") + again.actions("dirtime"), 0u) << again.output;
  EXPECT_EQ(part_files(dst), 0u);  // last: listing the target here changes its atime
}

// Many small chunks finishing at once on many threads: exactly one finisher, and none of the
// chunks' marks left on the finished file (a chunk that counted every piece just before another
// finished the file once slipped its own claim in after the marks were dropped).
TEST(ChunkedCopyTest, ChunksFinishingTogetherLeaveNoMarks) {
  TempDir tmp;
  std::string src = tmp / "src";
  make_dir(src);
  run_shell("head -c 4M /dev/urandom > '" + src + "/f'");
  for (int round = 0; round < 15; ++round) {
    std::string dst = tmp / ("dst" + std::to_string(round));
    RunResult r = run_lmover({"sync", "-j", "8", "--chunk-threshold", "1M", "--chunk-size", "64K", src, dst});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.counter("copy", "files_copied"), 1u) << r.output;
    char names[4096];
    ssize_t n = llistxattr((dst + "/f").c_str(), names, sizeof names);
    EXPECT_EQ(n, 0) << "round " << round << ": " << std::string(names, n > 0 ? static_cast<size_t>(n) : 0);
    auto differences = compare_trees(src, dst);
    EXPECT_TRUE(differences.empty()) << "round " << round << ": " << (differences.empty() ? "" : differences.front());
  }
}

// How many pieces the part file in `dir` has marked done (-1: no part file there).
int marked_pieces(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return -1;
  std::string part;
  while (dirent* e = readdir(d)) {
    if (std::string(e->d_name).rfind(".lmover-part-", 0) == 0) part = dir + "/" + e->d_name;
  }
  closedir(d);
  if (part.empty()) return -1;
  std::string names(1 << 16, '\0');
  ssize_t n = llistxattr(part.c_str(), names.data(), names.size());
  int marked = 0;
  for (ssize_t pos = 0; pos < n; pos += static_cast<ssize_t>(std::strlen(names.c_str() + pos)) + 1) {
    marked += std::strncmp(names.c_str() + pos, "user.lmover.piece.", 18) == 0;
  }
  return marked;
}

// A run killed -9 halfway through a big file leaves its part file; the next run resumes it: the
// pieces marked done are not copied again, and the clone is exact.
TEST(ChunkedCopyTest, KilledRunIsResumedNotRestarted) {
  TempDir tmp;
  std::string src = tmp / "src", dst = tmp / "dst";
  make_dir(src);
  run_shell("head -c 64M /dev/urandom > '" + src + "/big'");
  pid_t pid = fork();
  if (pid == 0) {
    execl(LMOVER_BIN, LMOVER_BIN, "copy", "-j", "1", "--chunk-threshold", "1M", "--chunk-size", "1M", "--no-progress",
          src.c_str(), dst.c_str(), (char*)nullptr);
    _exit(98);
  }
  int seen = -1;
  for (int i = 0; i < 20000 && (seen = marked_pieces(dst)) < 4; ++i) usleep(200);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(seen >= 4 && WIFSIGNALED(status)) << "the run ended before it could be killed halfway; seen " << seen;
  int marked = marked_pieces(dst);
  ASSERT_GE(marked, 4);
  ASSERT_LT(marked, 64);

  RunResult again = run_lmover({"sync", "-v", "-j", "2", "--chunk-threshold", "1M", "--chunk-size", "1M", src, dst});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("resume-chunks(" + std::to_string(marked) + "/64) big"), std::string::npos) << again.output;
  EXPECT_EQ(again.counter("copy", "bytes_copied"), static_cast<uint64_t>(64 - marked) << 20) << again.output;
  EXPECT_EQ(again.counter("copy", "files_copied"), 1u);
  auto differences = compare_trees(src, dst);
  EXPECT_TRUE(differences.empty()) << differences.front();
  EXPECT_EQ(run_lmover({"verify", "--content", src, dst}).exit_code, 0);
  EXPECT_EQ(part_files(dst), 0u);
}

// A run killed -9 just after renaming a finished file into place, before dropping its marks,
// leaves them on a file that is otherwise an exact copy: the next run drops them, and only them.
TEST(ChunkedCopyTest, MarksLeftByAKilledFinisherAreDroppedByTheNextRun) {
  TempDir tmp;
  std::string src = tmp / "src", dst = tmp / "dst";
  make_dir(src);
  run_shell("head -c 3M /dev/urandom > '" + src + "/big'");
  set_xattr(src + "/big", "user.mine", "kept");
  std::vector<std::string> args = {"sync", "--chunk-threshold", "1M", "--chunk-size", "1M", src, dst};
  ASSERT_EQ(run_lmover(args).exit_code, 0);
  set_xattr(dst + "/big", "user.lmover.final", "2");
  set_xattr(dst + "/big", "user.lmover.piece.1", "");
  ASSERT_FALSE(compare_trees(src, dst).empty());  // the oracle sees them

  RunResult again = run_lmover(args);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  // Not copied again (the data is right): the marks are extra xattrs, removed as such.
  EXPECT_EQ(again.counter("copy", "files_copied"), 0u) << again.output;
  EXPECT_EQ(again.counter("copy", "bytes_copied"), 0u) << again.output;
  auto differences = compare_trees(src, dst);
  EXPECT_TRUE(differences.empty()) << differences.front();
  char value[16] = {};
  EXPECT_EQ(lgetxattr((dst + "/big").c_str(), "user.mine", value, sizeof value), 4);
}

}  // namespace
}  // namespace lmover::test
