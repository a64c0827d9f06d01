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

}  // namespace
}  // namespace lmover
