// PlaceSpool: places kept on disk in slices, repeats dropped, and the places left to another
// (a new directory's walk, a parent's listing).
#include "passes/changed_places.h"

#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

namespace lmover {
namespace {

using K = ChangedPlace::Kind;

std::string spool_path() { return "/tmp/lmover-spool-test." + std::to_string(getpid()); }

TEST(PlaceSpool, SlicesHoldEveryPlaceOnceInOrder) {
  std::string path = spool_path();
  {
    PlaceSpool spool(path);
    for (int i = 0; i < 2500; ++i) spool.add({K::kListing, "dir/" + std::to_string(i)});
    spool.add({K::kListing, "dir/7"});  // a repeat: dropped
    spool.add({K::kEntry, std::string("odd/na\nme\0x", 12)});
    spool.close();
    // 2501 places (and the root's times, always): three slices of up to 1000.
    EXPECT_EQ(spool.places(), 2503u);
    ASSERT_EQ(spool.slices(), 3u);
    auto first = spool.read(0);
    ASSERT_EQ(first.size(), PlaceSpool::kSliceSize);
    EXPECT_EQ(first[0], (ChangedPlace{K::kListing, "dir/0"}));
    auto last = spool.read(2);
    ASSERT_EQ(last.size(), 503u);
    EXPECT_EQ(last[500], (ChangedPlace{K::kTimes, "odd"}));  // the entry's directory's times, first
    EXPECT_EQ(last[501], (ChangedPlace{K::kEntry, std::string("odd/na\nme\0x", 12)}));
    EXPECT_EQ(last[502], (ChangedPlace{K::kTimes, ""}));
  }
  ::unlink(path.c_str());
}

TEST(PlaceSpool, WhatANewDirectoryOrAListingCoversIsLeftToIt) {
  std::string path = spool_path();
  PlaceSpool spool(path);
  spool.add({K::kSubtree, "a/new"});
  spool.add({K::kListing, "b"});
  spool.add({K::kSubtree, "b/moved"});
  spool.add({K::kSubtree, "b/moved_file"});
  spool.close();
  ::unlink(path.c_str());
  EXPECT_FALSE(spool.covered({K::kSubtree, "a/new"}));
  EXPECT_TRUE(spool.covered({K::kListing, "a/new"}));
  EXPECT_TRUE(spool.covered({K::kEntry, "a/new/x/y"}));
  EXPECT_TRUE(spool.covered({K::kSubtree, "a/new/deeper"}));
  EXPECT_FALSE(spool.covered({K::kEntry, "a/newer"}));
  EXPECT_FALSE(spool.covered({K::kListing, "a"}));
  EXPECT_TRUE(spool.covered({K::kEntry, "b/f"})) << "b's listing looks at every entry in it";
  EXPECT_TRUE(spool.covered({K::kTimes, "b"}));
  EXPECT_TRUE(spool.covered({K::kSubtree, "b/moved"})) << "walked whole by b's listing";
  EXPECT_FALSE(spool.covered({K::kEntry, "b/sub/f"}));
  EXPECT_EQ(spool.subtrees_below("b"), (std::vector<std::string>{"moved", "moved_file"}));
  EXPECT_EQ(spool.subtrees_below(""), std::vector<std::string>{});
  EXPECT_EQ(spool.subtrees_below("a"), (std::vector<std::string>{"new"}));
}

}  // namespace
}  // namespace lmover
