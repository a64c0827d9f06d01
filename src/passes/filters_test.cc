#include "passes/filters.h"

#include <gtest/gtest.h>

namespace lmover {
namespace {

TEST(Filters, ExcludedPathsAreNormalised) {
  Filters f;
  f.exclude("./scratch/tmp/");
  f.exclude("/home/bob");
  f.exclude("");
  EXPECT_TRUE(f.excluded("scratch/tmp"));
  EXPECT_TRUE(f.excluded("home/bob"));
  EXPECT_FALSE(f.excluded("scratch/tmpfoo"));
  EXPECT_FALSE(f.excluded("scratch"));
  EXPECT_EQ(f.exclude_count(), 2u);
}

TEST(Filters, TimeFiltersApplyToNonDirectoriesOnly) {
  Filters f;
  f.skip_atime_before({1000, 0});
  f.skip_mtime_after({2000, 0});
  EntryMeta m;
  m.atime = {1500, 0};
  m.mtime = {1500, 0};
  EXPECT_FALSE(f.skipped_by_time(m));
  m.atime = {999, 999999999};
  EXPECT_TRUE(f.skipped_by_time(m));
  m.type = EntryType::kDirectory;
  EXPECT_FALSE(f.skipped_by_time(m));
  m.type = EntryType::kRegular;
  m.atime = {1500, 0};
  m.mtime = {2000, 1};
  EXPECT_TRUE(f.skipped_by_time(m));
}

TEST(Filters, OnlyReachesListedPathsThroughTheirParents) {
  Filters f;
  EXPECT_EQ(f.reach("anything"), Filters::Reach::kAll);
  f.only("a/b/c");
  f.only("./x/");
  EXPECT_EQ(f.reach(""), Filters::Reach::kPath);
  EXPECT_EQ(f.reach("a"), Filters::Reach::kPath);
  EXPECT_EQ(f.reach("a/b"), Filters::Reach::kPath);
  EXPECT_EQ(f.reach("a/b/c"), Filters::Reach::kAll);
  EXPECT_EQ(f.reach("a/b/c/d/e"), Filters::Reach::kAll);
  EXPECT_EQ(f.reach("x"), Filters::Reach::kAll);
  EXPECT_EQ(f.reach("x/y"), Filters::Reach::kAll);
  EXPECT_EQ(f.reach("a/b/cc"), Filters::Reach::kNone);
  EXPECT_EQ(f.reach("a/bb"), Filters::Reach::kNone);
  EXPECT_EQ(f.reach("b"), Filters::Reach::kNone);
  f.only("/");
  EXPECT_EQ(f.reach("b"), Filters::Reach::kAll);
}

}  // namespace
}  // namespace lmover
