#include "distributed/completion.h"

#include <algorithm>
#include <map>
#include <random>

#include <gtest/gtest.h>

namespace lmover {
namespace {

using Ids = std::vector<uint64_t>;

bool report(CompletionTracker& t, const Ids& lineage, uint64_t id, const Ids& children) {
  return t.report(lineage, id, children);
}

TEST(CompletionTracker, CompleteWhenEveryAnnouncedTaskIsDone) {
  CompletionTracker t(1);
  EXPECT_FALSE(t.complete());
  EXPECT_TRUE(report(t, {}, 1, {2, 3}));
  EXPECT_FALSE(t.complete());
  EXPECT_TRUE(report(t, {1}, 2, {}));
  EXPECT_FALSE(t.complete());
  EXPECT_TRUE(report(t, {1}, 3, {4}));
  EXPECT_EQ(t.pending(), 1u);
  EXPECT_TRUE(report(t, {1, 3}, 4, {}));
  EXPECT_TRUE(t.complete());
  EXPECT_EQ(t.done(), 4u);
}

TEST(CompletionTracker, DuplicateReportsAreIgnoredAfterTheirTaskIsForgotten) {
  CompletionTracker t(1);
  report(t, {}, 1, {2, 3});
  EXPECT_TRUE(report(t, {1}, 2, {5}));
  EXPECT_TRUE(report(t, {1, 2}, 5, {}));
  // 2 and 5 are complete and no longer held, yet a redelivered 2 or 5 is still known as done.
  EXPECT_EQ(t.held(), 2u);  // the root and 3
  EXPECT_FALSE(report(t, {1}, 2, {5}));
  EXPECT_FALSE(report(t, {1, 2}, 5, {}));
  EXPECT_FALSE(t.complete());
  EXPECT_TRUE(report(t, {1}, 3, {}));
  EXPECT_TRUE(t.complete());
  EXPECT_FALSE(report(t, {}, 1, {2, 3}));
  EXPECT_EQ(t.done(), 4u);
}

TEST(CompletionTracker, ChildrenAndGrandchildrenMayReportBeforeTheirParents) {
  CompletionTracker t(1);
  EXPECT_TRUE(report(t, {1, 2}, 5, {}));  // the grandchild was fastest
  EXPECT_TRUE(report(t, {1}, 2, {5, 6}));
  EXPECT_FALSE(t.complete());
  EXPECT_FALSE(report(t, {1, 2}, 5, {}));
  EXPECT_TRUE(report(t, {}, 1, {2}));
  EXPECT_FALSE(t.complete());  // 6 is still pending
  EXPECT_TRUE(report(t, {1, 2}, 6, {}));
  EXPECT_TRUE(t.complete());
  EXPECT_EQ(t.done(), 4u);
}

TEST(CompletionTracker, ARerunThatSawAnotherListingChangesNothing) {
  CompletionTracker t(1);
  report(t, {}, 1, {2, 3});
  // 1 was redelivered and ran again after 3 was renamed to 4: its report and 4's are duplicates.
  EXPECT_FALSE(report(t, {}, 1, {2, 4}));
  EXPECT_FALSE(report(t, {1}, 4, {}));
  EXPECT_TRUE(report(t, {1}, 2, {}));
  EXPECT_FALSE(t.complete());
  EXPECT_TRUE(report(t, {1}, 3, {}));
  EXPECT_TRUE(t.complete());
}

TEST(CompletionTracker, AnEarlyChildTheParentDoesNotAnnounceIsDroppedWithItsSubtree) {
  CompletionTracker t(1);
  // A first run of 1 published 9 and died; 9 ran and published 10. The run of 1 that reports
  // first saw another listing: its children are 2 only.
  EXPECT_TRUE(report(t, {1}, 9, {10}));
  EXPECT_TRUE(report(t, {}, 1, {2}));
  EXPECT_EQ(t.pending(), 1u);
  EXPECT_FALSE(report(t, {1, 9}, 10, {}));
  EXPECT_TRUE(report(t, {1}, 2, {}));
  EXPECT_TRUE(t.complete());
}

TEST(CompletionTracker, ReportsOfAnotherRunAreIgnored) {
  CompletionTracker t(1);
  EXPECT_FALSE(report(t, {}, 7, {8}));
  EXPECT_FALSE(report(t, {7}, 8, {}));
  EXPECT_EQ(t.done(), 0u);
}

TEST(CompletionTracker, SurvivesACheckpoint) {
  CompletionTracker t(1);
  report(t, {}, 1, {2, 3});
  report(t, {1}, 3, {});
  report(t, {1, 2, 7}, 8, {});  // early, two levels deep
  CompletionTracker back = CompletionTracker::load(t.save());
  EXPECT_EQ(back.pending(), t.pending());
  EXPECT_EQ(back.held(), t.held());
  EXPECT_EQ(back.done(), 3u);
  EXPECT_FALSE(report(back, {1}, 3, {}));
  EXPECT_FALSE(report(back, {1, 2, 7}, 8, {}));
  EXPECT_TRUE(report(back, {1}, 2, {7}));
  EXPECT_FALSE(back.complete());
  EXPECT_TRUE(report(back, {1, 2}, 7, {8}));
  EXPECT_TRUE(back.complete());
  EXPECT_TRUE(CompletionTracker::load(back.save()).complete());
  EXPECT_THROW(CompletionTracker::load("garbage"), std::invalid_argument);
  std::string cut = t.save();
  cut.pop_back();
  EXPECT_THROW(CompletionTracker::load(cut), std::invalid_argument);
}

// A random tree of tasks with realistic fan-out, its reports in a random order (children before
// parents, duplicates, replays after a restart from a checkpoint): every task counts once, and
// the run is complete exactly when the last distinct task has reported, never before.
struct RandomRun {
  std::vector<uint64_t> id;
  std::vector<int> parent;
  std::vector<Ids> kids, lineage;

  RandomRun(size_t tasks, std::mt19937_64& rng) {
    id.push_back(rng());
    parent.push_back(-1);
    kids.emplace_back();
    lineage.emplace_back();
    std::uniform_real_distribution<double> u(0, 1);
    while (id.size() < tasks) {
      // Skewed parents: mostly recent tasks (deep trees), sometimes one hub (wide directories).
      int p = u(rng) < 0.3 ? static_cast<int>(u(rng) * u(rng) * double(id.size())) : static_cast<int>(id.size() - 1 - size_t(u(rng) * std::min<double>(20, double(id.size()))));
      id.push_back(rng());
      parent.push_back(p);
      kids.emplace_back();
      kids[size_t(p)].push_back(id.back());
      Ids l = lineage[size_t(p)];
      l.push_back(id[size_t(p)]);
      lineage.push_back(std::move(l));
    }
  }
};

TEST(CompletionTracker, PropertyAnyOrderAnyDuplicatesAnyRestart) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    std::mt19937_64 rng(seed);
    RandomRun run(1 + rng() % 3000, rng);
    std::vector<size_t> order;
    for (size_t i = 0; i < run.id.size(); ++i) {
      order.push_back(i);
      if (rng() % 10 == 0) order.push_back(i);  // a duplicate report
    }
    std::shuffle(order.begin(), order.end(), rng);
    CompletionTracker t(run.id[0]);
    std::vector<int> firsts(run.id.size(), 0);
    size_t distinct = 0;
    for (size_t k = 0; k < order.size(); ++k) {
      size_t i = order[k];
      if (rng() % 500 == 0) {
        // A restart: the successor resumes from a checkpoint and the broker replays a few reports.
        t = CompletionTracker::load(t.save());
        for (size_t back = 1; back <= 5 && back <= k; ++back) {
          size_t j = order[k - back];
          ASSERT_FALSE(report(t, run.lineage[j], run.id[j], run.kids[j])) << "seed " << seed;
        }
      }
      bool fresh = report(t, run.lineage[i], run.id[i], run.kids[i]);
      if (fresh) ++firsts[i];
      if (firsts[i] == 1 && fresh) ++distinct;
      ASSERT_EQ(t.complete(), distinct == run.id.size()) << "seed " << seed << " after report " << k;
    }
    for (size_t i = 0; i < run.id.size(); ++i) ASSERT_EQ(firsts[i], 1) << "seed " << seed << " task " << i;
    EXPECT_EQ(t.done(), run.id.size());
    EXPECT_EQ(t.pending(), 0u);
  }
}

TEST(CompletionTracker, MemoryFollowsTheFrontierNotTheRun) {
  // A 10-ary tree, 5 levels below the root (111111 tasks), reported depth-first as workers walk it:
  // what is held is the open path and its pending siblings, never the tasks already done.
  constexpr int kFan = 10, kDepth = 5;
  CompletionTracker t(1);
  size_t most_held = 0;
  uint64_t next_id = 2;
  struct Frame {
    Ids lineage;
    uint64_t id;
    int depth;
  };
  std::vector<Frame> stack{{{}, 1, 0}};
  while (!stack.empty()) {
    Frame f = stack.back();
    stack.pop_back();
    Ids kids;
    if (f.depth < kDepth) {
      for (int i = 0; i < kFan; ++i) kids.push_back(next_id++);
    }
    ASSERT_TRUE(t.report(f.lineage, f.id, kids));
    Ids lineage = f.lineage;
    lineage.push_back(f.id);
    for (uint64_t k : kids) stack.push_back({lineage, k, f.depth + 1});
    most_held = std::max(most_held, t.held());
  }
  EXPECT_TRUE(t.complete());
  EXPECT_EQ(t.done(), next_id - 1);
  EXPECT_LE(most_held, size_t(kFan * kDepth + 1));
}

}  // namespace
}  // namespace lmover
