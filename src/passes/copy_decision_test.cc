#include "passes/copy_decision.h"

#include <gtest/gtest.h>

namespace lmover {
namespace {

EntryMeta file(off_t size = 10, time_t mtime = 100) {
  EntryMeta m;
  m.type = EntryType::kRegular;
  m.perm = 0644;
  m.uid = 1;
  m.gid = 2;
  m.size = size;
  m.mtime = {mtime, 5};
  m.ctime = {50, 0};
  m.atime = {60, 0};
  m.nlink = 1;
  return m;
}

EntryMeta copied(EntryMeta m) {  // what the target looks like right after we wrote it
  m.ctime = {200, 0};
  m.ino += 1000;
  return m;
}

TEST(CopyDecision, MissingTargetIsCreated) {
  EXPECT_EQ(decide_copy(file(), std::nullopt), CopyAction::kCreate);
  EntryMeta dir = file();
  dir.type = EntryType::kDirectory;
  EXPECT_EQ(decide_copy(dir, std::nullopt), CopyAction::kCreate);
}

TEST(CopyDecision, IdenticalEntryIsLeftAlone) {
  EXPECT_EQ(decide_copy(file(), copied(file())), CopyAction::kNone);
}

TEST(CopyDecision, AtimeAloneIsNotAChange) {
  EntryMeta dst = copied(file());
  dst.atime = {999, 0};
  EXPECT_EQ(decide_copy(file(), dst), CopyAction::kNone);
}

TEST(CopyDecision, SizeOrNanosecondMtimeChangeRewrites) {
  EXPECT_EQ(decide_copy(file(11), copied(file(10))), CopyAction::kRewrite);
  EntryMeta src = file();
  src.mtime.tv_nsec += 1;
  EXPECT_EQ(decide_copy(src, copied(file())), CopyAction::kRewrite);
}

TEST(CopyDecision, ModeOwnerOrNewerCtimeUpdatesMetadataOnly) {
  EntryMeta src = file();
  src.perm = 04755;
  EXPECT_EQ(decide_copy(src, copied(file())), CopyAction::kUpdateMetadata);
  src = file();
  src.gid = 9;
  EXPECT_EQ(decide_copy(src, copied(file())), CopyAction::kUpdateMetadata);
  src = file();
  src.ctime = {300, 0};  // an xattr or ACL edit after our copy, or data rewritten and touched back
  EXPECT_EQ(decide_copy(src, copied(file())), CopyAction::kCheckContent);
  src.perm = 0600;  // a chmod too: still only the data can tell
  EXPECT_EQ(decide_copy(src, copied(file())), CopyAction::kCheckContent);
}

TEST(CopyDecision, NewerCtimeOfADeviceOrFifoOnlyUpdatesMetadata) {
  EntryMeta fifo = file(0);
  fifo.type = EntryType::kFifo;
  EntryMeta dst = copied(fifo);
  fifo.ctime = {300, 0};
  EXPECT_EQ(decide_copy(fifo, dst), CopyAction::kUpdateMetadata);
}

TEST(CopyDecision, OwnersARunCannotSetAreNotCompared) {
  std::vector<gid_t> ours = {5};
  ChangeRule unprivileged{false, &ours, false};
  EntryMeta src = file();
  src.uid = 1234, src.gid = 77;
  src.perm = 02755;
  EntryMeta dst = copied(file());
  dst.uid = 1000, dst.gid = 5;
  dst.perm = 0755;  // the kernel dropped setgid: the group is not ours
  EXPECT_EQ(decide_copy(src, dst, unprivileged), CopyAction::kNone);
  src.gid = 5;  // a group the run has is kept, and compared, setgid included
  EXPECT_EQ(decide_copy(src, dst, unprivileged), CopyAction::kUpdateMetadata);
  EXPECT_EQ(decide_copy(src, dst), CopyAction::kUpdateMetadata);  // root compares everything
}

TEST(CopyDecision, RewriteCopiesAgainWhatLooksTheSame) {
  ChangeRule rewrite{true, nullptr, true};
  EXPECT_EQ(decide_copy(file(), copied(file()), rewrite), CopyAction::kRewrite);
  EntryMeta dir = file();
  dir.type = EntryType::kDirectory;
  EXPECT_EQ(decide_copy(dir, copied(dir), rewrite), CopyAction::kUpdateMetadata);
  EntryMeta linked = file();
  linked.nlink = 2;
  EntryMeta dst = copied(linked);
  EXPECT_EQ(decide_copy(linked, dst), CopyAction::kNone);
  EXPECT_EQ(decide_copy(linked, dst, rewrite), CopyAction::kLinkGroup);
}

TEST(CopyDecision, TypeChangeReplaces) {
  EntryMeta dir = file();
  dir.type = EntryType::kDirectory;
  EXPECT_EQ(decide_copy(file(), copied(dir)), CopyAction::kReplace);
  EXPECT_EQ(decide_copy(dir, copied(file())), CopyAction::kReplace);
  EntryMeta fifo = file(0);
  fifo.type = EntryType::kFifo;
  EXPECT_EQ(decide_copy(fifo, copied(file(0))), CopyAction::kReplace);
}

TEST(CopyDecision, DeviceNumberChangeRewrites) {
  EntryMeta dev = file(0);
  dev.type = EntryType::kCharDevice;
  dev.rdev = 0x103;
  EntryMeta other = copied(dev);
  other.rdev = 0x104;
  EXPECT_EQ(decide_copy(dev, other), CopyAction::kRewrite);
  EXPECT_EQ(decide_copy(dev, copied(dev)), CopyAction::kNone);
}

TEST(CopyDecision, LoneFileStillSharedOnTargetGetsItsOwnInode) {
  EntryMeta dst = copied(file());
  dst.nlink = 2;  // the source link was broken since the last pass
  EXPECT_EQ(decide_copy(file(), dst), CopyAction::kRewrite);
}

TEST(CopyDecision, LinkGroupsAreSettledUnlessCountsAgree) {
  EntryMeta src = file();
  src.nlink = 3;
  EXPECT_EQ(decide_copy(src, std::nullopt), CopyAction::kLinkGroup);
  EntryMeta dst = copied(src);
  EXPECT_EQ(decide_copy(src, dst), CopyAction::kNone);
  dst.nlink = 2;  // a link was added on the source
  EXPECT_EQ(decide_copy(src, dst), CopyAction::kLinkGroup);
  EntryMeta dir = copied(file());
  dir.type = EntryType::kDirectory;
  EXPECT_EQ(decide_copy(src, dir), CopyAction::kLinkGroup);
}

TEST(CopyDecision, DirectoryTimesAreNotTheCopyPassesBusiness) {
  EntryMeta dir = file();
  dir.type = EntryType::kDirectory;
  dir.nlink = 5;
  EntryMeta dst = copied(dir);
  dst.mtime = {12345, 0};
  dst.nlink = 2;
  EXPECT_EQ(decide_copy(dir, dst), CopyAction::kNone);
  dst.perm = 0700;
  EXPECT_EQ(decide_copy(dir, dst), CopyAction::kUpdateMetadata);
}

}  // namespace
}  // namespace lmover
