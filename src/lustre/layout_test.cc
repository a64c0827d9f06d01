#include "lustre/layout.h"

#include <stdexcept>

#include <gtest/gtest.h>

namespace lmover {
namespace {

TEST(LayoutPolicy, ParsesWhatTheHelpSays) {
  EXPECT_EQ(LayoutPolicy::parse("copy").kind, LayoutPolicy::Kind::kCopy);
  EXPECT_EQ(LayoutPolicy::parse("seed").kind, LayoutPolicy::Kind::kSeed);
  LayoutPolicy p = LayoutPolicy::parse("fixed:4:8M:fast");
  EXPECT_EQ(p.kind, LayoutPolicy::Kind::kFixed);
  EXPECT_EQ(p.stripe_count, 4u);
  EXPECT_EQ(p.stripe_size, 8u << 20);
  EXPECT_EQ(p.pool, "fast");
  EXPECT_EQ(p.name(), "fixed:4:8M:fast");
  EXPECT_EQ(LayoutPolicy::parse("fixed:-1").stripe_count, kLayoutWide);
  EXPECT_FALSE(LayoutPolicy::parse("fixed:2").stripe_size.has_value());
  for (const char* bad : {"", "fixed", "fixed:", "fixed:0", "fixed:x", "fixed:2:3Q", "fixed:1:2:3:4", "wide"}) {
    EXPECT_THROW(LayoutPolicy::parse(bad), std::invalid_argument) << bad;
  }
}

TEST(LayoutPolicy, BySizeTakesTheLastThresholdReached) {
  LayoutPolicy p = LayoutPolicy::parse("by-size:1K=1,1G=4:4M,64G=-1:16M:archive");
  ASSERT_EQ(p.by_size.size(), 3u);
  EXPECT_EQ(p.name(), "by-size:1K=1,1G=4:4M,64G=-1:16M:archive");
  auto count = [&](uint64_t size) {
    auto l = target_layout(p, std::nullopt, size);
    return l ? l->components[0].stripe_count : 0;
  };
  EXPECT_EQ(count(10), 0u);  // below the first threshold: the filesystem default
  EXPECT_EQ(count(1024), 1u);
  EXPECT_EQ(count((1ull << 30) - 1), 1u);
  EXPECT_EQ(count(1ull << 30), 4u);
  EXPECT_EQ(count(1ull << 40), kLayoutWide);
  EXPECT_EQ(target_layout(p, std::nullopt, 1ull << 40)->components[0].pool, "archive");
  for (const char* bad : {"by-size:", "by-size:1G", "by-size:1G=4,1M=2", "by-size:1G=0"}) {
    EXPECT_THROW(LayoutPolicy::parse(bad), std::invalid_argument) << bad;
  }
}

Layout pfl() {
  return Layout{{{0, 64 << 20, 1, 1 << 20, kPatternRaid0, ""},
                 {64 << 20, kExtentEof, 24, 4 << 20, kPatternRaid0, "slow"}},
                true};
}

TEST(TargetLayout, CopySeedAndFixed) {
  EXPECT_EQ(target_layout(LayoutPolicy::parse("copy"), pfl()), pfl());
  EXPECT_EQ(target_layout(LayoutPolicy::parse("copy"), std::nullopt), std::nullopt);
  Layout seeded = *target_layout(LayoutPolicy::parse("seed"), pfl());
  EXPECT_FALSE(seeded.composite);
  ASSERT_EQ(seeded.components.size(), 1u);
  EXPECT_EQ(seeded.components[0].stripe_count, 1u);  // the first component's width
  Layout wide{{{0, kExtentEof, 16, 1 << 20, kPatternRaid0, ""}}, false};
  EXPECT_EQ(target_layout(LayoutPolicy::parse("seed"), wide)->components[0].stripe_count, kLayoutWide);
  wide.components[0].stripe_count = 15;
  EXPECT_EQ(target_layout(LayoutPolicy::parse("seed"), wide)->components[0].stripe_count, 15u);
  Layout fixed = *target_layout(LayoutPolicy::parse("fixed:2::fast"), std::nullopt);
  EXPECT_EQ(fixed.components[0].stripe_count, 2u);
  EXPECT_EQ(fixed.components[0].stripe_size, kLayoutDefault);
  EXPECT_EQ(fixed.components[0].pool, "fast");
}

TEST(Relaxed, DropsPoolsThenWidensThenGivesUp) {
  Layout first = *relaxed(pfl());
  EXPECT_EQ(first.components[1].pool, "");
  EXPECT_EQ(first.components[1].stripe_count, 24u);
  Layout second = *relaxed(first);
  EXPECT_EQ(second.components[0].stripe_count, kLayoutWide);
  EXPECT_EQ(second.components[1].stripe_count, kLayoutWide);
  EXPECT_EQ(second.components[1].start, 64u << 20);  // extents are kept
  EXPECT_EQ(relaxed(second), std::nullopt);
}

TEST(Satisfies, JudgesOnlyWhatTheWantedLayoutNames) {
  Layout actual{{{0, kExtentEof, 8, 1 << 20, kPatternRaid0, ""}}, false};
  Layout wanted{{{0, kExtentEof, kLayoutWide, kLayoutDefault, kPatternRaid0, ""}}, false};
  EXPECT_TRUE(satisfies(actual, wanted));  // "all OSTs", default size: whatever Lustre made of them
  wanted.components[0].stripe_count = 8;
  EXPECT_TRUE(satisfies(actual, wanted));
  wanted.components[0].stripe_count = 4;
  EXPECT_FALSE(satisfies(actual, wanted));
  wanted.components[0].stripe_count = 8;
  wanted.components[0].pool = "fast";
  EXPECT_FALSE(satisfies(actual, wanted));
  EXPECT_FALSE(satisfies(actual, pfl()));
  EXPECT_TRUE(satisfies(pfl(), pfl()));
}

TEST(Describe, ReadsLikeLfsGetstripe) {
  EXPECT_EQ(describe(Layout{{{0, kExtentEof, 4, 1 << 20, kPatternRaid0, "fast"}}, false}), "count=4 size=1M pool=fast");
  EXPECT_EQ(describe(pfl()), "[0,64M) count=1 size=1M; [64M,EOF) count=24 size=4M pool=slow");
}

TEST(StripeAlignedChunk, IsAMultipleOfEveryStripeSizeNearTheWantedSize) {
  constexpr uint64_t M = 1 << 20;
  auto plain = [](uint64_t size) { return Layout{{LayoutComponent{.stripe_count = 4, .stripe_size = size}}}; };
  EXPECT_EQ(stripe_aligned_chunk(plain(M), 256 * M), 256 * M);
  EXPECT_EQ(stripe_aligned_chunk(plain(3 * M), 256 * M), 258 * M);  // rounded up, never down
  EXPECT_EQ(stripe_aligned_chunk(plain(512 * M), 256 * M), 512 * M);  // never smaller than a stripe
  EXPECT_EQ(stripe_aligned_chunk(plain(kLayoutDefault), 256 * M), 256 * M);
  EXPECT_EQ(stripe_aligned_chunk(Layout{}, 5), 5u);
  Layout pfl{{LayoutComponent{.start = 0, .end = 64 * M, .stripe_size = M, .pattern = kPatternMdt},
              LayoutComponent{.start = 64 * M, .end = 1024 * M, .stripe_count = 4, .stripe_size = 4 * M},
              LayoutComponent{.start = 1024 * M, .stripe_count = 16, .stripe_size = 3 * M}},
             true};
  EXPECT_EQ(stripe_aligned_chunk(pfl, 10 * M), 12 * M);  // lcm(1M, 4M, 3M)
  // Sizes with no small common multiple: the largest stripe size rules alone.
  Layout odd{{LayoutComponent{.stripe_size = 65536 * 7919}, LayoutComponent{.stripe_size = 65536 * 7907}}};
  EXPECT_EQ(stripe_aligned_chunk(odd, 64 * M), 65536ull * 7919);
  Layout huge{{LayoutComponent{.stripe_size = (1ull << 40) + 1}, LayoutComponent{.stripe_size = (1ull << 40) - 1}}};
  EXPECT_EQ(stripe_aligned_chunk(huge, 1ull << 40), (1ull << 40) + 1);  // the lcm would pass 64 bits
}

// FLR: two mirrors, the second preferred for reads. Relaxing drops pools, then the second mirror
// (a target without FLR keeps the data in one), and only then widens counts.
TEST(LayoutPolicy, MirroredLayoutsRelaxToTheirFirstMirrorBeforeWidening) {
  Layout mirrored{{{.start = 0, .end = kExtentEof, .stripe_count = 2, .stripe_size = 1 << 20, .pool = "fast"},
                   {.start = 0, .end = kExtentEof, .stripe_count = 4, .stripe_size = 1 << 20, .mirror = 1, .flags = 0x2}},
                  true};
  EXPECT_EQ(mirrored.mirror_count(), 2u);
  EXPECT_EQ(describe(mirrored), "mirror 1: [0,EOF) count=2 size=1M pool=fast; mirror 2: [0,EOF) count=4 size=1M flags=0x2");
  std::optional<Layout> step = relaxed(mirrored);
  ASSERT_TRUE(step);
  EXPECT_EQ(step->mirror_count(), 2u);
  EXPECT_EQ(step->components[0].pool, "");
  step = relaxed(*step);
  ASSERT_TRUE(step);
  ASSERT_EQ(step->components.size(), 1u);
  EXPECT_EQ(step->components[0].stripe_count, 2u);
  step = relaxed(*step);
  ASSERT_TRUE(step);
  EXPECT_EQ(step->components[0].stripe_count, kLayoutWide);
  EXPECT_FALSE(relaxed(*step));

  // A mirror's flags and its place are part of what the target must have.
  Layout other = mirrored;
  other.components[1].flags = 0;
  EXPECT_FALSE(satisfies(other, mirrored));
  other = mirrored;
  other.components[1].flags |= kCompStale;  // stale is the filesystem's state, not the layout's
  EXPECT_TRUE(satisfies(other, mirrored));
}

}  // namespace
}  // namespace lmover
