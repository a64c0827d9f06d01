// PlaceSpool: places kept on disk in slices, repeats dropped, and the places left to another
// (a new directory's walk, a listing's own times); the phases a run visits them in.
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
    for (int i = 0; i < 2500; ++i) spool.add({K::kListing, "dir/" + std::to_string(i), ChangedPlace::Type::kDirectory});
    spool.add({K::kListing, "dir/7"});  // a repeat: dropped
    spool.add({K::kEntry, std::string("odd/na\nme\0x", 12)});
    spool.close();
    // 2501 places, the entry's directory's times and the root's (always), in slices of kSliceSize.
    EXPECT_EQ(spool.places(), 2503u);
    size_t slices = (2503 + PlaceSpool::kSliceSize - 1) / PlaceSpool::kSliceSize;
    ASSERT_EQ(spool.slices(), slices);
    auto first = spool.read(0);
    ASSERT_EQ(first.size(), PlaceSpool::kSliceSize);
    EXPECT_EQ(first[0], (ChangedPlace{K::kListing, "dir/0", ChangedPlace::Type::kDirectory}));  // the type kept
    std::vector<ChangedPlace> all;
    for (size_t i = 0; i < slices; ++i) {
      auto part = spool.read(i);
      all.insert(all.end(), part.begin(), part.end());
    }
    ASSERT_EQ(all.size(), 2503u);
    EXPECT_EQ(all[1000], (ChangedPlace{K::kListing, "dir/1000", ChangedPlace::Type::kDirectory}));
    constexpr auto kDir = ChangedPlace::Type::kDirectory;
    EXPECT_EQ(all[2500], (ChangedPlace{K::kTimes, "odd", kDir}));  // the entry's directory's times, first
    EXPECT_EQ(all[2501], (ChangedPlace{K::kEntry, std::string("odd/na\nme\0x", 12)}));
    EXPECT_EQ(all[2502], (ChangedPlace{K::kTimes, "", kDir}));
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
  EXPECT_FALSE(spool.covered({K::kEntry, "b/f"})) << "an entry is its own place: the listing acts on new names only";
  EXPECT_TRUE(spool.covered({K::kTimes, "b"})) << "b's listing sets its times";
  EXPECT_FALSE(spool.covered({K::kSubtree, "b/moved"}));
  EXPECT_FALSE(spool.covered({K::kEntry, "b/sub/f"}));
}

TEST(ChangedPlacesPass, NewDirectoriesThenListingsThenEntries) {
  EXPECT_EQ(ChangedPlacesPass::phase_of(K::kSubtree), 0);
  EXPECT_EQ(ChangedPlacesPass::phase_of(K::kListing), 1);
  EXPECT_EQ(ChangedPlacesPass::phase_of(K::kTimes), 1);
  EXPECT_EQ(ChangedPlacesPass::phase_of(K::kEntry), 2);
}

}  // namespace
}  // namespace lmover
