// End-to-end: the real binary on the nasty tree, compared attribute by attribute by the oracle.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <thread>

#include <gtest/gtest.h>

#include "nasty_tree.h"
#include "test_support.h"
#include "tree_oracle.h"

namespace lmover::test {
namespace {

std::string first_lines(const std::vector<std::string>& diffs) {
  std::string out;
  for (size_t i = 0; i < diffs.size() && i < 25; ++i) out += diffs[i] + "\n";
  return out;
}

#define EXPECT_EXACT_CLONE(src, dst, options)                        \
  do {                                                               \
    auto diffs_ = compare_trees(src, dst, options);                  \
    EXPECT_TRUE(diffs_.empty()) << diffs_.size() << " differences:\n" << first_lines(diffs_); \
  } while (0)

class CloneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    make_dir(src_);
    build_nasty_tree(src_);
  }
  TempDir tmp_;
  std::string src_ = tmp_ / "src";
  std::string dst_ = tmp_ / "dst";
};

TEST_F(CloneTest, FirstCopyIsExactExceptDirTimes) {
  RunResult r = run_lmover({"copy", src_, dst_, "--threads", "4"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EXACT_CLONE(src_, dst_, OracleOptions{.dir_times = false});
  EXPECT_GT(r.counter("copy", "files_copied"), 30u);
  EXPECT_EQ(r.counter("copy", "errors"), 0u);
}

TEST_F(CloneTest, CopyThenDirtimeIsExact) {
  ASSERT_EQ(run_lmover({"copy", src_, dst_}).exit_code, 0);
  RunResult r = run_lmover({"dirtime", src_, dst_});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EXACT_CLONE(src_, dst_, OracleOptions{});
}

TEST_F(CloneTest, SymlinkTimesAreCopiedAfterReadingTheLink) {
  ASSERT_EQ(run_lmover({"sync", src_, dst_}).exit_code, 0);
  for (const char* name : {"symlinks/rel", "symlinks/abs", "symlinks/dangling"}) {
    struct stat a, b;
    ASSERT_EQ(lstat((src_ + "/" + name).c_str(), &a), 0);
    ASSERT_EQ(lstat((dst_ + "/" + name).c_str(), &b), 0);
    EXPECT_EQ(a.st_atim.tv_sec, b.st_atim.tv_sec) << name;
    EXPECT_EQ(a.st_atim.tv_nsec, b.st_atim.tv_nsec) << name;
    EXPECT_EQ(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec) << name;
  }
}

TEST_F(CloneTest, RerunOnUnchangedTreeWritesNothing) {
  ASSERT_EQ(run_lmover({"sync", src_, dst_}).exit_code, 0);
  auto before = ctimes(dst_);
  for (const char* command : {"copy", "sync"}) {
    RunResult r = run_lmover({command, src_, dst_, "--threads", "3"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.actions("copy"), 0u) << command << "\n" << r.output;
    if (std::string(command) == "sync") {
      EXPECT_EQ(r.actions("delete"), 0u);
      EXPECT_EQ(r.actions("dirtime"), 0u);
    }
  }
  EXPECT_EQ(before, ctimes(dst_)) << "a no-op re-run changed a ctime on the target";
  EXPECT_EXACT_CLONE(src_, dst_, OracleOptions{});
}

TEST_F(CloneTest, MutationsThenSyncIsExactAndIdempotent) {
  ASSERT_EQ(run_lmover({"sync", src_, dst_}).exit_code, 0);
  mutate_nasty_tree(src_);
  RunResult r = run_lmover({"sync", src_, dst_, "--threads", "4"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_GT(r.counter("delete", "removed"), 0u);
  EXPECT_EXACT_CLONE(src_, dst_, OracleOptions{});
  RunResult again = run_lmover({"sync", src_, dst_});
  EXPECT_EQ(again.actions("copy") + again.actions("delete") + again.actions("dirtime"), 0u) << again.output;
}

TEST_F(CloneTest, MutationsThenSeparatePassesIsExact) {
  ASSERT_EQ(run_lmover({"copy", src_, dst_}).exit_code, 0);
  mutate_nasty_tree(src_);
  for (const char* pass : {"copy", "delete", "dirtime"}) {
    RunResult r = run_lmover({pass, src_, dst_});
    ASSERT_EQ(r.exit_code, 0) << pass << "\n" << r.output;
  }
  EXPECT_EXACT_CLONE(src_, dst_, OracleOptions{});
}

TEST_F(CloneTest, DryRunChangesNothing) {
  RunResult r = run_lmover({"sync", src_, dst_, "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  struct stat st;
  EXPECT_NE(stat(dst_.c_str(), &st), 0) << "dry run created the target";
  EXPECT_NE(r.output.find("would create files/size1"), std::string::npos) << r.output;

  ASSERT_EQ(run_lmover({"sync", src_, dst_}).exit_code, 0);
  mutate_nasty_tree(src_);
  auto before = ctimes(dst_);
  RunResult dry = run_lmover({"sync", src_, dst_, "-n"});
  ASSERT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_GT(dry.actions("copy"), 0u);
  EXPECT_NE(dry.output.find("would delete files/delete-me"), std::string::npos) << dry.output;
  EXPECT_EQ(before, ctimes(dst_));
}

TEST_F(CloneTest, ExcludedPathsAreNeitherCopiedNorDeleted) {
  std::string list = tmp_ / "exclude";
  write_file(list, "./files/size4096\nlinks/b/\n# a comment\n\n");
  RunResult r = run_lmover({"sync", src_, dst_, "--exclude-from", list});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  struct stat st;
  EXPECT_NE(lstat((dst_ + "/files/size4096").c_str(), &st), 0);
  EXPECT_NE(lstat((dst_ + "/links/b").c_str(), &st), 0);
  EXPECT_EQ(lstat((dst_ + "/files/size4095").c_str(), &st), 0);
  // Something excluded that exists only on the target stays there.
  make_dir(dst_ + "/links/b");
  write_file(dst_ + "/links/b/keep", "mine");
  ASSERT_EQ(run_lmover({"sync", src_, dst_, "--exclude-from", list}).exit_code, 0);
  EXPECT_EQ(read_file(dst_ + "/links/b/keep"), "mine");
}

TEST_F(CloneTest, TimeFiltersSkipOldAndNewFiles) {
  // size1 has atime 1998 (kOlder); everything else 2001. Skip files not accessed since 1999.
  RunResult r = run_lmover({"copy", src_, dst_, "--skip-atime-before", "1999-01-01"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  struct stat st;
  EXPECT_NE(lstat((dst_ + "/files/size1").c_str(), &st), 0);
  EXPECT_EQ(lstat((dst_ + "/files/size0").c_str(), &st), 0);
  EXPECT_GE(r.counter("copy", "skipped_by_time"), 1u);

  write_file(src_ + "/files/fresh", "new");  // mtime now: after 2020
  RunResult r2 = run_lmover({"copy", src_, dst_, "--skip-mtime-after", "2020-01-01"});
  ASSERT_EQ(r2.exit_code, 0) << r2.output;
  EXPECT_NE(lstat((dst_ + "/files/fresh").c_str(), &st), 0);
}

// rsync's habit: SRC/ and DST/ with a trailing slash, DST not made yet. The same clone, and the
// same lock and bookmark names beside DST as without the slash.
TEST_F(CloneTest, TrailingSlashesOnTheRootsAreRsyncsHabitAndWork) {
  make_dir(tmp_ / "tgt");
  std::string dst = tmp_ / "tgt/new";
  RunResult r = run_lmover({"sync", src_ + "/", dst + "//"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EXACT_CLONE(src_, dst, OracleOptions{});
  RunResult again = run_lmover({"sync", src_ + "/", dst + "/"});
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(again.counter("copy", "actions"), 0u) << again.output;
  EXPECT_FALSE(exists(tmp_ / "tgt/new/.new.lmover-lock")) << "the lock went inside DST";
}

// Ages and ISO 8601 dates, as admins write them: 12h is twelve hours ago; Z is UTC.
TEST_F(CloneTest, TimeFiltersTakeAgesAndIsoDates) {
  write_file(src_ + "/files/recent", "r");  // files/size1 has atime 1998
  timespec two_days_ago[2] = {{time(nullptr) - 2 * 86400, 0}, {UTIME_OMIT, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, (src_ + "/files/recent").c_str(), two_days_ago, AT_SYMLINK_NOFOLLOW), 0);
  RunResult day = run_lmover({"copy", src_, tmp_ / "d1", "--skip-atime-before", "1d"});
  ASSERT_EQ(day.exit_code, 0) << day.output;
  EXPECT_FALSE(exists(tmp_ / "d1/files/recent")) << "accessed two days ago: before 1d";
  RunResult week = run_lmover({"copy", src_, tmp_ / "d2", "--skip-atime-before", "1w"});
  ASSERT_EQ(week.exit_code, 0) << week.output;
  EXPECT_TRUE(exists(tmp_ / "d2/files/recent")) << "accessed two days ago: after 1w";
  EXPECT_FALSE(exists(tmp_ / "d2/files/size1"));
  RunResult hours = run_lmover({"copy", src_, tmp_ / "d3", "--skip-atime-before", "72h"});
  EXPECT_TRUE(exists(tmp_ / "d3/files/recent")) << hours.output;

  // 1999-01-01 00:00 UTC, written as the epoch, in UTC and one hour east: the same moment, the same
  // files skipped (those of 1998).
  int n = 0;
  uint64_t by_epoch = 0;
  for (const char* when : {"@915148800", "1999-01-01T00:00:00Z", "1999-01-01T01:00+0100"}) {
    RunResult r = run_lmover({"copy", src_, tmp_ / ("iso" + std::to_string(++n)), "--skip-atime-before", when});
    ASSERT_EQ(r.exit_code, 0) << when << ": " << r.output;
    if (n == 1) by_epoch = r.counter("copy", "skipped_by_time");
    EXPECT_GE(by_epoch, 1u);
    EXPECT_EQ(r.counter("copy", "skipped_by_time"), by_epoch) << when;
  }
  for (const char* bad : {"12x", "d12", "-3d", "1999-01-01T25:00Z"}) {
    RunResult r = run_lmover({"copy", src_, tmp_ / "bad", "--skip-atime-before", bad});
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.output;
    EXPECT_NE(r.output.find("bad date"), std::string::npos) << r.output;
  }
}

// --no-xattrs (or xattrs = false in the config) copies everything else exactly and no xattr or ACL;
// the nasty tree has user xattrs, access and default ACLs, so a copy that leaked one would show.
TEST_F(CloneTest, NoXattrsCopiesEverythingElseAndNoXattr) {
  RunResult r = run_lmover({"sync", "--no-xattrs", src_, dst_});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EXACT_CLONE(src_, dst_, OracleOptions{.xattrs = false});
  EXPECT_FALSE(compare_trees(src_, dst_).empty()) << "the source has xattrs, so a full comparison must differ";

  std::string config = tmp_ / "lmover.toml";
  write_file(config, "xattrs = false\n");
  std::string dst2 = tmp_ / "dst2";
  ASSERT_EQ(run_lmover({"sync", "--config", config, src_, dst2}).exit_code, 0);
  EXPECT_EXACT_CLONE(src_, dst2, OracleOptions{.xattrs = false});

  // A later pass without the option compares xattrs where either side has some, as rsync -X
  // does, and brings them over: the clone is then exact with them, and a re-run does nothing.
  RunResult later = run_lmover({"sync", src_, dst_});
  ASSERT_EQ(later.exit_code, 0) << later.output;
  EXPECT_EQ(later.counter("copy", "files_copied"), 0u) << later.output;
  EXPECT_GT(later.counter("copy", "metadata_updated"), 0u) << later.output;
  EXPECT_EXACT_CLONE(src_, dst_, OracleOptions{});
  RunResult quiet = run_lmover({"sync", src_, dst_});
  EXPECT_EQ(quiet.actions("copy") + quiet.actions("delete") + quiet.actions("dirtime"), 0u) << quiet.output;
}

// Directory tasks hand their children open descriptors while the descriptor limit leaves room, and
// reopen by path past it. With a limit of 512 no pair can be handed on: every directory is opened by
// path from the roots and stat'ed first, which must give the same clone.
TEST_F(CloneTest, ExactCloneWhenNoDescriptorCanBeHandedOn) {
  auto sync = [&] { return run_lmover({"sync", "-j", "8", src_, dst_}, -1, true, 512); };
  RunResult first = sync();
  mutate_nasty_tree(src_);
  RunResult second = sync();
  RunResult again = sync();
  ASSERT_EQ(first.exit_code, 0) << first.output;
  ASSERT_EQ(second.exit_code, 0) << second.output;
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(again.actions("copy") + again.actions("delete") + again.actions("dirtime"), 0u) << again.output;
  EXPECT_EXACT_CLONE(src_, dst_, OracleOptions{});
}

// On a remote source each entry is pinned (O_PATH) and read through its /proc link, saving a
// lookup; tmpfs does not do that by itself, so it is forced here, over the whole oracle cycle:
// first copy, mutations and sync, idempotent re-run, then xattrs edited on the target only (the
// source unchanged: compared through the pins) put back.
TEST_F(CloneTest, ExactCloneWithPinnedEntries) {
  write_file(src_ + "/with-xattr", "x");
  ASSERT_EQ(setxattr((src_ + "/with-xattr").c_str(), "user.kept", "1", 1, 0), 0);
  setenv("LMOVER_PIN_ENTRIES", "1", 1);
  RunResult first = run_lmover({"copy", src_, dst_});
  std::vector<std::string> after_copy = compare_trees(src_, dst_, OracleOptions{.dir_times = false});
  mutate_nasty_tree(src_);
  RunResult second = run_lmover({"sync", src_, dst_});
  RunResult again = run_lmover({"sync", src_, dst_});
  ASSERT_EQ(setxattr((dst_ + "/with-xattr").c_str(), "user.kept", "2", 1, 0), 0);
  ASSERT_EQ(setxattr((dst_ + "/with-xattr").c_str(), "user.planted", "3", 1, 0), 0);
  RunResult mended = run_lmover({"sync", src_, dst_});
  unsetenv("LMOVER_PIN_ENTRIES");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_TRUE(after_copy.empty()) << first_lines(after_copy);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(again.actions("copy") + again.actions("delete") + again.actions("dirtime"), 0u) << again.output;
  ASSERT_EQ(mended.exit_code, 0) << mended.output;
  EXPECT_EXACT_CLONE(src_, dst_, OracleOptions{});
}

// -v says how many threads a pass uses and why: the cores on local filesystems (a FUSE or network
// root gets more, which bench/latency.sh measures); -j is the admin's choice and no default applies.
TEST_F(CloneTest, VerboseTellsTheConcurrencyChosenAndWhy) {
  RunResult r = run_lmover({"copy", "-v", src_, dst_});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_NE(r.output.find("concurrency: " + std::to_string(cores) + " threads (SRC and DST are on local filesystems"),
            std::string::npos)
      << r.output;
  RunResult chosen = run_lmover({"copy", "-v", "-j", "5", src_, dst_});
  ASSERT_EQ(chosen.exit_code, 0) << chosen.output;
  EXPECT_EQ(chosen.output.find("concurrency:"), std::string::npos) << chosen.output;
}

}  // namespace
}  // namespace lmover::test
