// The final pass from Lustre changelogs (--changelog, --incremental), against the fake
// liblustreapi's changelog (fake_changelog.c). The test plays the MDS: it mutates the source for
// real and writes the records lustre-release's mdd would log for each mutation, on two MDTs
// interleaved, with gaps in the indexes. The clone is judged by the tree oracle (every attribute,
// link structure) and by `lmover verify`, never by what lmover says of itself.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "changelog_support.h"
#include "held_run.h"

namespace lmover::test {
namespace {

// Random mutation sequences between a full copy and an incremental sync, twice in a row (the
// bookmark advances): the clone is exact each time, and the records are cleared after each.
class ChangelogSeeds : public ChangelogTest, public ::testing::WithParamInterface<uint32_t> {};

TEST_P(ChangelogSeeds, RandomMutationsThenAnIncrementalSyncLeaveAnExactClone) {
  initial_tree(4, 5);
  RunResult full = lmover({"sync", "--changelog", "cl1", src_, dst_});
  ASSERT_EQ(full.exit_code, 0) << full.output;
  ASSERT_EQ(mds_.records_left(), 0u) << "a complete pass with --changelog clears what it has covered";
  Users users(src_, mds_, GetParam() * 101);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 25; ++i) users.any();
    RunResult inc = lmover({"sync", "--changelog", "cl1", "--incremental", "-v", src_, dst_});
    ASSERT_EQ(inc.exit_code, 0) << inc.output;
    EXPECT_GT(inc.summary["changelog"]["places"].get<uint64_t>(), 0u) << inc.output;
    expect_exact("round " + std::to_string(round), inc.output);
    EXPECT_EQ(mds_.records_left(), 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, ChangelogSeeds, ::testing::Range(1u, 9u));

// What an incremental pass looks at follows the changes, not the tree.
TEST_F(ChangelogTest, AnIncrementalPassLooksAtWhatChangedOnly) {
  initial_tree(40, 50);
  ASSERT_EQ(lmover({"copy", "--changelog", "cl1", src_, dst_}).exit_code, 0);
  Users users(src_, mds_, 3);
  users.rewrite_in_place(src_ + "/d7/f3");
  users.create(src_ + "/d12", "new", "fresh");
  users.unlink_file(src_ + "/d30/f1");
  RunResult inc = lmover({"sync", "--changelog", "cl1", "--incremental", src_, dst_});
  ASSERT_EQ(inc.exit_code, 0) << inc.output;
  RunResult full = lmover({"sync", src_, tmp_ / "twin"});
  ASSERT_EQ(full.exit_code, 0) << full.output;
  uint64_t seen = inc.counter("copy", "entries"), all = full.counter("copy", "entries");
  EXPECT_GT(all, 2000u);
  EXPECT_LT(seen, 200u) << "the incremental copy looked at " << seen << " entries of " << all;
  EXPECT_EQ(inc.counter("copy", "files_copied"), 2u);
  EXPECT_EQ(inc.counter("delete", "removed"), 1u);
  expect_exact("after three changes");
}

// A copy deletes nothing: a bookmark taken by copies alone does not speak for the delete, which then
// walks the whole tree (directories only), and removes what went before and between the copies.
TEST_F(ChangelogTest, CopiesAloneLeaveTheDeleteToAWholeWalk) {
  initial_tree(3, 4);
  ASSERT_EQ(lmover({"copy", src_, dst_}).exit_code, 0);
  Users users(src_, mds_, 21);
  users.unlink_file(src_ + "/d0/f1");  // before any bookmark
  ASSERT_EQ(lmover({"copy", "--changelog", "cl1", src_, dst_}).exit_code, 0);
  users.unlink_file(src_ + "/d1/f2");  // between two copies
  users.create(src_ + "/d2", "fresh", "new");
  RunResult copy = lmover({"copy", "--changelog", "cl1", "--incremental", src_, dst_});
  ASSERT_EQ(copy.exit_code, 0) << copy.output;
  EXPECT_TRUE(exists(dst_ + "/d1/f2")) << "a copy deletes nothing";
  RunResult sync = lmover({"sync", "--changelog", "cl1", "--incremental", src_, dst_});
  ASSERT_EQ(sync.exit_code, 0) << sync.output;
  EXPECT_NE(sync.output.find("no delete pass with --changelog has completed"), std::string::npos) << sync.output;
  EXPECT_EQ(sync.counter("delete", "removed"), 2u) << sync.output;
  expect_exact("after copies alone");
  // That sync completed a delete: the next one is incremental all through.
  users.unlink_file(src_ + "/d2/f0");
  RunResult next = lmover({"sync", "--changelog", "cl1", "--incremental", src_, dst_});
  ASSERT_EQ(next.exit_code, 0) << next.output;
  EXPECT_EQ(next.output.find("walks the whole tree"), std::string::npos) << next.output;
  EXPECT_EQ(next.counter("delete", "removed"), 1u);
  expect_exact("after an incremental delete");
}

// Plain --incremental refuses (exit 2, naming the changelog and why) where the log cannot be
// trusted; =auto walks the whole tree and says why.
TEST_F(ChangelogTest, AnUntrustedLogIsRefusedOrWalkedWholeAndSaysWhy) {
  initial_tree(3, 3);
  RunResult none = lmover({"sync", "--changelog", "cl1", "--incremental", src_, dst_});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.output.find("changelog cannot be trusted: no bookmark yet"), std::string::npos) << none.output;
  EXPECT_FALSE(exists(dst_ + "/d0")) << "a refusal writes nothing";
  RunResult no_user = run_lmover({"sync", "--incremental", src_, dst_});
  EXPECT_EQ(no_user.exit_code, 2);
  EXPECT_NE(no_user.output.find("--incremental needs --changelog"), std::string::npos) << no_user.output;

  write_file(tmp_ / "only", "d0\n");
  RunResult partial = lmover({"copy", "--changelog", "cl1", "--only-from", tmp_ / "only", src_, dst_});
  EXPECT_EQ(partial.exit_code, 2) << "a partial pass cannot take a bookmark";
  ASSERT_EQ(lmover({"copy", "--changelog", "cl1", src_, dst_}).exit_code, 0);
  write_file(tmp_ / "excludes", "d2\n");
  RunResult other_excludes = lmover({"sync", "--changelog", "cl1", "--incremental", "--exclude-from", tmp_ / "excludes", src_, dst_});
  EXPECT_EQ(other_excludes.exit_code, 2);
  EXPECT_NE(other_excludes.output.find("the exclude list is not the one"), std::string::npos) << other_excludes.output;
  Users(src_, mds_, 5).create(src_ + "/d1", "after", "x");
  mds_.deregister(1);
  RunResult gone = lmover({"sync", "--changelog", "cl1", "--incremental", src_, dst_});
  EXPECT_EQ(gone.exit_code, 2);
  EXPECT_NE(gone.output.find("changelog user cl1 is not registered on lustre-MDT0001"), std::string::npos) << gone.output;
  EXPECT_FALSE(exists(dst_ + "/d1/after"));

  mds_.register_user("cl1");  // registered again: but records were lost meanwhile
  RunResult relost = lmover({"sync", "--changelog", "cl1", "--incremental=auto", src_, dst_});
  EXPECT_EQ(relost.exit_code, 0) << relost.output;
  expect_exact("after the fallback");
}

// A library from before llapi_changelog_start_user cannot tell a deregistered user from a quiet
// log: lmover says so, and finds the user gone with a clear up to its bookmark.
TEST_F(ChangelogTest, AnOldLibraryStillFindsADeregisteredUser) {
  setenv("LMOVER_LUSTREAPI", FAKE_LUSTREAPI_OLD, 1);
  initial_tree(2, 2);
  RunResult full = lmover({"copy", "--changelog", "cl1", src_, dst_});
  ASSERT_EQ(full.exit_code, 0) << full.output;
  EXPECT_NE(full.output.find("no llapi_changelog_start_user"), std::string::npos) << full.output;
  mds_.deregister(0);
  RunResult gone = lmover({"sync", "--changelog", "cl1", "--incremental", src_, dst_});
  EXPECT_EQ(gone.exit_code, 2);
  EXPECT_NE(gone.output.find("changelog user cl1 is not registered on lustre-MDT0000"), std::string::npos) << gone.output;
}

// A pass on DST that did not complete since the bookmark (here: stopped by --max-delete) may have
// left the target behind where no record says: the log is not trusted until a full pass settles it.
TEST_F(ChangelogTest, APassThatDidNotCompleteSinceTheBookmarkUnsettlesIt) {
  initial_tree(2, 3);
  ASSERT_EQ(lmover({"copy", "--changelog", "cl1", src_, dst_}).exit_code, 0);
  write_file(dst_ + "/extra1", "x");
  write_file(dst_ + "/extra2", "y");
  RunResult stopped = lmover({"delete", "--max-delete", "1", src_, dst_});
  EXPECT_EQ(stopped.exit_code, 1) << stopped.output;
  RunResult inc = lmover({"sync", "--changelog", "cl1", "--incremental", src_, dst_});
  EXPECT_EQ(inc.exit_code, 2);
  EXPECT_NE(inc.output.find("a 'delete' run on"), std::string::npos) << inc.output;
  RunResult settle = lmover({"sync", "--changelog", "cl1", src_, dst_});
  ASSERT_EQ(settle.exit_code, 0) << settle.output;
  Users(src_, mds_, 9).create(src_ + "/d0", "later", "z");
  RunResult again = lmover({"sync", "--changelog", "cl1", "--incremental", src_, dst_});
  EXPECT_EQ(again.exit_code, 0) << again.output;
  expect_exact("after settling");
}

// kill -9 in the middle of an incremental pass: neither the bookmark nor the clears move, and the
// run after it (=auto: the killed run left the bookmark unsettled) completes the clone.
TEST_F(ChangelogTest, AKilledIncrementalPassMovesNothingAndTheNextCompletes) {
  initial_tree(3, 3);
  ASSERT_EQ(lmover({"copy", "--changelog", "cl1", src_, dst_}).exit_code, 0);
  Users users(src_, mds_, 13);
  users.create(src_ + "/d2", "big", std::string(300000, 'b'));
  users.rewrite_in_place(src_ + "/d0/f2");
  size_t records = mds_.records_left();
  std::string bookmark = read_file(tmp_ / ".dst.lmover-changelog");
  {
    HeldRun run(tmp_, {"sync", "--lustre", "on", "--changelog", "cl1", "--incremental", src_, dst_}, "big");
    ASSERT_TRUE(run.held());
    run.kill9();
  }
  EXPECT_EQ(mds_.records_left(), records) << "records cleared by a run that did not complete";
  std::string after = read_file(tmp_ / ".dst.lmover-changelog");
  EXPECT_NE(after.find("\"unsettled\": {"), std::string::npos) << after;
  RunResult next = lmover({"sync", "--changelog", "cl1", "--incremental=auto", src_, dst_});
  EXPECT_EQ(next.exit_code, 0) << next.output;
  EXPECT_NE(next.output.find("changelog cannot be trusted: a 'sync' run"), std::string::npos) << next.output;
  expect_exact("after the kill");
}

// A directory renamed is walked whole, and no record names the other names of the hard-link groups
// it holds: they are followed by FID to every name, the groups stay whole on the target, and the
// directories of those names get their times back.
TEST_F(ChangelogTest, ARenamedDirectoryBringsItsHardLinkGroupsAlong) {
  initial_tree(3, 3);  // d0/f0 and d1/link0 are one file
  ASSERT_EQ(lmover({"sync", "--changelog", "cl1", src_, dst_}).exit_code, 0);
  Users users(src_, mds_, 5);
  users.rename_to(src_ + "/d0", src_, "moved");
  RunResult inc = lmover({"sync", "--changelog", "cl1", "--incremental", src_, dst_});
  ASSERT_EQ(inc.exit_code, 0) << inc.output;
  expect_exact("after the rename", inc.output);
}

// `lmover changes` reads what the log names since the bookmark and what an incremental sync would
// cost, and changes nothing: no record cleared, the bookmark and the target as they were.
TEST_F(ChangelogTest, TheChangesReportReadsTheLogAndChangesNothing) {
  initial_tree(3, 4);
  ASSERT_EQ(lmover({"sync", "--changelog", "cl1", src_, dst_}).exit_code, 0);
  Users users(src_, mds_, 19);
  users.create(src_ + "/d0", "new1", "a");
  users.create(src_ + "/d1", "new2", "b");
  users.rewrite_in_place(src_ + "/d2/f1");
  size_t records = mds_.records_left();
  std::string bookmark = read_file(tmp_ / ".dst.lmover-changelog");
  RunResult report = lmover({"changes", "--changelog", "cl1", src_, dst_});
  ASSERT_EQ(report.exit_code, 0) << report.output;
  EXPECT_NE(report.output.find("lustre-MDT0000: "), std::string::npos) << report.output;
  EXPECT_NE(report.output.find("lustre-MDT0001: "), std::string::npos) << report.output;
  EXPECT_NE(report.output.find("2 listings, 3 entries"), std::string::npos) << report.output;
  EXPECT_NE(report.output.find("at the last full run's"), std::string::npos) << report.output;
  EXPECT_EQ(report.summary["changelog"]["records"].get<uint64_t>(), records);
  EXPECT_EQ(mds_.records_left(), records) << "a report clears nothing";
  EXPECT_EQ(read_file(tmp_ / ".dst.lmover-changelog"), bookmark) << "a report moves no bookmark";
  EXPECT_FALSE(exists(dst_ + "/d0/new1")) << "a report copies nothing";

  ASSERT_EQ(lmover({"sync", "--changelog", "cl1", "--incremental", src_, dst_}).exit_code, 0);
  users.unlink_file(src_ + "/d0/f0");
  RunResult next = lmover({"changes", "--changelog", "cl1", src_, dst_});
  ASSERT_EQ(next.exit_code, 0) << next.output;
  EXPECT_NE(next.output.find("at the last incremental run's"), std::string::npos) << next.output;
  RunResult without = run_lmover({"changes", src_, dst_});
  EXPECT_EQ(without.exit_code, 2);
  EXPECT_NE(without.output.find("changes needs --changelog"), std::string::npos) << without.output;
}

// The MDS drops a user that has not cleared for 30 days: a long pass renews it while it runs, and
// `lmover changes` renews it too, each by a clear that takes nothing a later pass needs (no further
// than the bookmark, or than the running pass's start).
TEST_F(ChangelogTest, APassAndTheReportKeepTheChangelogUserAlive) {
  initial_tree(2, 2);
  Users users(src_, mds_, 23);
  users.create(src_ + "/d0", "big", std::string(300000, 'b'));
  size_t records = mds_.records_left();
  setenv("LMOVER_CHANGELOG_KEEPALIVE_S", "1", 1);
  {
    HeldRun run(tmp_, {"sync", "--lustre", "on", "--changelog", "cl1", src_, dst_}, "big");
    ASSERT_TRUE(run.held());
    users.create(src_ + "/d1", "during", "x");  // after the pass's start: a later pass needs it
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    for (int i = 0; i < 2; ++i) {
      auto [index, at] = mds_.cleared(i, "cl1");
      EXPECT_GT(at, 0) << mds_.mdt(i) << " was not renewed while the pass ran";
    }
    // Its CREAT and CLOSE are left, and nothing before the pass's start (the log's end then).
    EXPECT_EQ(mds_.records_left(), 2u) << "of " << records + 2 << " records";
    run.kill9();
  }
  unsetenv("LMOVER_CHANGELOG_KEEPALIVE_S");
  ASSERT_EQ(lmover({"sync", "--changelog", "cl1", src_, dst_}).exit_code, 0);
  users.create(src_ + "/d0", "later", "y");
  auto before = mds_.cleared(0, "cl1");
  mds_.set_cleared(0, "cl1", before.first, 0);  // as if idle since
  RunResult report = lmover({"changes", "--changelog", "cl1", src_, dst_});
  ASSERT_EQ(report.exit_code, 0) << report.output;
  EXPECT_EQ(mds_.cleared(0, "cl1").first, before.first) << "the report cleared records";
  EXPECT_GT(mds_.cleared(0, "cl1").second, 0) << "the report did not renew the user";
  EXPECT_EQ(mds_.records_left(), 2u) << "the report cleared the records of 'later'";
}

// A record logged twice, and records of entries gone since, change nothing of the result.
TEST_F(ChangelogTest, DuplicateRecordsAndEntriesGoneSinceAreNoErrors) {
  initial_tree(2, 3);
  ASSERT_EQ(lmover({"copy", "--changelog", "cl1", src_, dst_}).exit_code, 0);
  Users users(src_, mds_, 17);
  users.create(src_ + "/d0", "short_lived", "soon gone");
  users.rewrite_in_place(src_ + "/d1/f1");
  for (int i = 0; i < 2; ++i) {
    std::string line = mds_.last_line(i);
    if (line.empty()) continue;
    std::istringstream fields(line);
    uint64_t index;
    fields >> index;
    std::ofstream(mds_.dir() + "/" + mds_.mdt(i) + ".log", std::ios::app) << line << '\n';  // the same record again
  }
  users.unlink_file(src_ + "/d0/short_lived");
  RunResult inc = lmover({"sync", "--changelog", "cl1", "--incremental", src_, dst_});
  EXPECT_EQ(inc.exit_code, 0) << inc.output;
  EXPECT_GE(inc.summary["changelog"]["gone"].get<uint64_t>(), 1u) << inc.output;
  expect_exact("after duplicates and gone entries");
}

}  // namespace
}  // namespace lmover::test
