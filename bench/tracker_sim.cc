// tracker_sim: the submitter's completion tracker and its checkpoints at a scale this box cannot
// copy, without touching a filesystem.
//
//   tracker_sim [TASKS=100000000] [SEED=1]
//
// A synthetic run of TASKS task ids shaped like a big migration: ~10% directory tasks, fan-out from
// 1 to 10^5 (most directories small, a few huge), tasks taken from the in-flight pool in random
// order, mostly newest first (as workers running descendants themselves would), reports delivered out of order (children often before their
// parents), 1% of them twice, checkpoints paced as the submitter paces them, and a
// restart midway: the tracker is rebuilt from its last checkpoint and the reports since then are
// replayed. Prints reports/s of the tracker alone (one core), its peak memory and nodes, the
// biggest checkpoint and the process's peak RSS, and checks the run completes with every task
// counted once.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "distributed/completion.h"

namespace {

using Clock = std::chrono::steady_clock;
using Lineage = std::shared_ptr<const std::vector<uint64_t>>;

struct Pending {
  Lineage lineage;  // shared by siblings
  uint64_t id;
  bool dir;
};

struct Report {
  Lineage lineage;
  uint64_t id;
  std::vector<uint64_t> children;
};

}  // namespace

int main(int argc, char** argv) {
  const uint64_t target = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100'000'000;
  std::mt19937_64 rng(argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1);
  std::uniform_real_distribution<double> u(0, 1);
  constexpr size_t kReorderWindow = 4096, kReportsPerCheckpoint = 500;

  // Fan-out of a directory: 90% 1-30 entries, 9.9% up to 1000, 0.1% up to 10^5 (log-uniform).
  auto fan_out = [&] {
    double r = u(rng), hi = r < 0.9 ? 30 : r < 0.999 ? 1000 : 100000;
    return static_cast<uint64_t>(std::exp(u(rng) * std::log(hi))) + 1;
  };

  lmover::CompletionTracker tracker(1);
  std::vector<Pending> pool{{std::make_shared<std::vector<uint64_t>>(), 1, true}};
  std::vector<Report> window, since_checkpoint;
  std::string checkpoint = tracker.save();
  uint64_t dirs_waiting = 1, announced = 1, delivered = 0, fresh = 0, fresh_at_checkpoint = 0, restarts = 0, next_id = 2;
  size_t most_in_flight = 0, most_held = 0, most_bytes = 0, biggest_checkpoint = 0;
  double tracker_seconds = 0, checkpoint_seconds = 0, last_checkpoint_at = 0, last_checkpoint_cost = 0;
  uint64_t checkpoints = 0;
  bool restarted = false;

  auto deliver = [&](const Report& r) {
    auto t0 = Clock::now();
    if (tracker.report(*r.lineage, r.id, r.children)) ++fresh;
    tracker_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    ++delivered;
    since_checkpoint.push_back(r);
    // The submitter's pacing: at most every 500 reports, and never more than 5% of its time.
    double busy = tracker_seconds + checkpoint_seconds;
    if (since_checkpoint.size() >= kReportsPerCheckpoint && busy - last_checkpoint_at >= 20 * last_checkpoint_cost) {
      auto c0 = Clock::now();
      checkpoint = tracker.save();
      fresh_at_checkpoint = fresh;  // the submitter's counters travel in the same checkpoint
      last_checkpoint_cost = std::chrono::duration<double>(Clock::now() - c0).count();
      checkpoint_seconds += last_checkpoint_cost;
      last_checkpoint_at = tracker_seconds + checkpoint_seconds;
      ++checkpoints;
      biggest_checkpoint = std::max(biggest_checkpoint, checkpoint.size());
      since_checkpoint.clear();
    }
    if ((delivered & 0xfff) == 0) {
      most_held = std::max(most_held, tracker.held());
      most_bytes = std::max(most_bytes, tracker.memory_bytes());
    }
  };

  auto started = Clock::now();
  while (!pool.empty() || !window.empty()) {
    // A worker takes any task in flight and runs it; its report joins the reordering window.
    if (!pool.empty() && (window.size() < kReorderWindow || u(rng) < 0.5)) {
      // Mostly the newest (a worker runs a task's descendants itself, depth first), else any (the
      // leftovers other workers took from the queue).
      size_t pick = u(rng) < 0.8 ? pool.size() - 1 : rng() % pool.size();
      most_in_flight = std::max(most_in_flight, pool.size() + window.size());
      Pending task = std::move(pool[pick]);
      dirs_waiting -= task.dir;
      pool[pick] = std::move(pool.back());
      pool.pop_back();
      Report r{task.lineage, task.id, {}};
      if (task.dir && announced < target) {
        uint64_t n = std::min<uint64_t>(fan_out(), target - announced);
        auto below = std::make_shared<std::vector<uint64_t>>(*task.lineage);
        below->push_back(task.id);
        bool any_dir = false;
        for (uint64_t i = 0; i < n; ++i) {
          // ~10% directories; at least one while the run must grow, so the tree does not die out.
          // No directories below depth 16, as on real filesystems (deeper ones are rare).
          // While too few directories wait, one more child is a directory, so the run reaches its size.
          bool dir = below->size() < 16 && (u(rng) < 0.1 || (!any_dir && dirs_waiting < 1024));
          any_dir |= dir;
          dirs_waiting += dir;
          r.children.push_back(next_id);
          pool.push_back({below, next_id++, dir});
        }
        announced += n;
      }
      window.push_back(std::move(r));
      continue;
    }
    size_t pick = rng() % window.size();
    Report r = std::move(window[pick]);
    window[pick] = std::move(window.back());
    window.pop_back();
    if (u(rng) < 0.01) window.push_back(r);  // delivered twice (a redelivered task's second run)
    deliver(r);
    if (!restarted && delivered >= target / 2) {
      // The submitter dies: its successor loads the last checkpoint; the reports it had not
      // checkpointed come again, then the run goes on.
      restarted = true;
      ++restarts;
      auto replay = std::move(since_checkpoint);
      since_checkpoint.clear();
      tracker = lmover::CompletionTracker::load(checkpoint);
      fresh = fresh_at_checkpoint;
      for (const Report& again : replay) deliver(again);
    }
  }
  double wall = std::chrono::duration<double>(Clock::now() - started).count();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);

  std::printf("tasks %llu, reports delivered %llu (duplicates and replays included), restarts %llu\n",
              (unsigned long long)announced, (unsigned long long)delivered, (unsigned long long)restarts);
  std::printf("tracker: %.2f M reports/s on one core (%.1f s in report()), complete=%s, done=%llu, counted once=%s\n",
              delivered / tracker_seconds / 1e6, tracker_seconds, tracker.complete() ? "yes" : "NO",
              (unsigned long long)tracker.done(), fresh == announced && tracker.done() == announced ? "yes" : "NO");
  std::printf("peak: %zu tasks in flight (queued or reported unseen), %zu nodes held, %.1f MB tracker memory "
              "(%.0f bytes per held node); process peak RSS %.1f MB\n",
              most_in_flight, most_held, most_bytes / 1e6, most_held ? double(most_bytes) / most_held : 0.0, ru.ru_maxrss / 1024.0);
  std::printf("checkpoints: %llu saved, biggest %.2f MB, %.1f ms each on average\n", (unsigned long long)checkpoints,
              biggest_checkpoint / 1e6, checkpoints ? 1000 * checkpoint_seconds / checkpoints : 0.0);
  std::printf("simulation wall time %.1f s\n", wall);
  return tracker.complete() && tracker.done() == announced ? 0 : 1;
}
