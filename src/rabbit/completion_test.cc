#include "rabbit/completion.h"

#include <gtest/gtest.h>

namespace lmover {
namespace {

TEST(CompletionTracker, CompleteWhenEveryAnnouncedIdIsDone) {
  CompletionTracker t(1);
  EXPECT_FALSE(t.complete());
  EXPECT_TRUE(t.report(1, {2, 3}));
  EXPECT_FALSE(t.complete());
  EXPECT_TRUE(t.report(2, {}));
  EXPECT_FALSE(t.complete());
  EXPECT_TRUE(t.report(3, {4}));
  EXPECT_TRUE(t.report(4, {}));
  EXPECT_TRUE(t.complete());
}

TEST(CompletionTracker, DuplicateReportsAreIgnored) {
  CompletionTracker t(1);
  t.report(1, {2});
  t.report(2, {});
  EXPECT_TRUE(t.complete());
  // A redelivered parent runs again and announces the same child ids: nothing reopens.
  EXPECT_FALSE(t.report(1, {2}));
  EXPECT_FALSE(t.report(2, {}));
  EXPECT_TRUE(t.complete());
}

TEST(CompletionTracker, ChildMayReportBeforeItsParent) {
  CompletionTracker t(1);
  EXPECT_TRUE(t.report(2, {5}));  // the child was fast
  EXPECT_FALSE(t.complete());
  EXPECT_TRUE(t.report(1, {2}));
  EXPECT_FALSE(t.complete());  // 5 is still pending
  EXPECT_TRUE(t.report(5, {}));
  EXPECT_TRUE(t.complete());
}

TEST(CompletionTracker, TasksRunInlineAreDoneWithoutBeingPublished) {
  CompletionTracker t(1);
  // The worker ran 1, then its children 2 and 3 itself; 3's child 4 was published.
  EXPECT_EQ(t.report(std::vector<uint64_t>{1, 2, 3}, {4}), std::vector<bool>({true, true, true}));
  EXPECT_FALSE(t.complete());
  EXPECT_TRUE(t.report(4, {}));
  EXPECT_TRUE(t.complete());
  EXPECT_EQ(t.done(), 4u);
}

TEST(CompletionTracker, ADescendantThatReportedOnItsOwnIsNotCountedAgainInline) {
  CompletionTracker t(1);
  // The first run of 1 published 2 (its report was lost with the broker); 2 ran and reported.
  EXPECT_TRUE(t.report(2, {}));
  // 1 is redelivered and this time runs 2 inline: 1 is new, 2 is not, 3 (published) is pending.
  EXPECT_EQ(t.report(std::vector<uint64_t>{1, 2}, {3}), std::vector<bool>({true, false}));
  EXPECT_FALSE(t.complete());
  EXPECT_TRUE(t.report(3, {}));
  EXPECT_TRUE(t.complete());
  EXPECT_EQ(t.done(), 3u);
}

TEST(CompletionTracker, SurvivesACheckpoint) {
  CompletionTracker t(1);
  t.report(1, {2, 3});
  t.report(3, {});
  CompletionTracker back = CompletionTracker::from_json(t.to_json());
  EXPECT_EQ(back.pending(), 1u);
  EXPECT_FALSE(back.report(3, {}));
  EXPECT_TRUE(back.report(2, {}));
  EXPECT_TRUE(back.complete());
}

}  // namespace
}  // namespace lmover
