#include <algorithm>

#include <gtest/gtest.h>

#include "passes/pass_context.h"
#include "passes/pass_table.h"

namespace lmover {
namespace {

// Every field that travels, set to something other than its default.
PassOptions everything_set() {
  PassOptions o;
  o.dry_run = true;
  o.verbose = true;
  o.metadata.owner = false;
  o.metadata.xattrs = false;
  o.relayout = true;
  o.rewrite = true;
  o.verify_content = true;
  o.chunk_threshold = 12345;
  o.chunk_size = 678;
  o.rebalance_percent = 12.5;
  o.rebalance_seed = 99;
  o.filters.exclude("a/b");
  o.filters.exclude(std::string("not-utf8-\xff", 10));
  o.filters.only("c");
  o.filters.skip_atime_before(timespec{100, 5});
  o.filters.skip_mtime_after(timespec{200, 7});
  return o;
}

TEST(PassOptionsSpec, EveryFieldThatTravelsComesBack) {
  PassOptions sent = everything_set();
  PassOptions got = PassOptions::from_spec(sent.to_spec());
  EXPECT_EQ(got.dry_run, sent.dry_run);
  EXPECT_EQ(got.verbose, sent.verbose);
  EXPECT_EQ(got.metadata.owner, sent.metadata.owner);
  EXPECT_EQ(got.metadata.xattrs, sent.metadata.xattrs);
  EXPECT_EQ(got.relayout, sent.relayout);
  EXPECT_EQ(got.rewrite, sent.rewrite);
  EXPECT_EQ(got.verify_content, sent.verify_content);
  EXPECT_EQ(got.chunk_threshold, sent.chunk_threshold);
  EXPECT_EQ(got.chunk_size, sent.chunk_size);
  EXPECT_EQ(got.rebalance_percent, sent.rebalance_percent);
  EXPECT_EQ(got.rebalance_seed, sent.rebalance_seed);
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(sorted(got.filters.excluded_paths()), sorted(sent.filters.excluded_paths()));
  EXPECT_EQ(got.filters.only_paths(), sent.filters.only_paths());
  ASSERT_TRUE(got.filters.atime_before() && got.filters.mtime_after());
  EXPECT_EQ(got.filters.atime_before()->tv_nsec, 5);
  EXPECT_EQ(got.filters.mtime_after()->tv_sec, 200);
  // And the spec of what came back is the spec that was sent: nothing dropped, nothing added.
  EXPECT_EQ(got.to_spec(), sent.to_spec());
}

TEST(PassOptionsSpec, ASpecWithoutAFieldGivesItsDefault) {
  PassOptions defaults;
  PassOptions got = PassOptions::from_spec(nlohmann::json::object());
  EXPECT_EQ(got.to_spec(), defaults.to_spec());
  EXPECT_EQ(got.chunk_size, defaults.chunk_size);  // the default is written once, in PassOptions
}

// A field added to PassOptions changes its size: then say here whether it travels (add it to the
// spec and to everything_set above) or is decided by each node (pass_context.h lists those), and
// update the size. Without this, a field the workers never see passes every other test.
TEST(PassOptionsSpec, ANewFieldIsDecidedOn) {
  EXPECT_EQ(sizeof(PassOptions), 336u) << "PassOptions changed: see the comment above this test";
}

TEST(PassTable, EveryKindHasOneRowAndNamesRoundTrip) {
  for (const PassInfo& p : all_passes()) {
    EXPECT_EQ(&pass_info(p.kind), &p);
    EXPECT_EQ(pass_kind(p.name), p.kind);
  }
  EXPECT_EQ(all_passes().size(), 4u);
  EXPECT_FALSE(pass_info(PassKind::kVerify).writes);
  EXPECT_TRUE(pass_info(PassKind::kDelete).writes);
  EXPECT_THROW(pass_info("nope"), std::invalid_argument);
}

}  // namespace
}  // namespace lmover
