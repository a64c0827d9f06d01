// places_sim: what the node that reads a changelog holds and spends for its places, at sizes this
// box cannot produce with real records: the spool written, then every phase's root children made
// as a distributed run publishes them (ChangedPlacesPass::root_children), into a sink that only
// counts. No filesystem is touched but the spool file.
//
//   places_sim [PLACES=1000000] [DIRS=PLACES/10] [SPOOL=/tmp/places_sim.spool]
//
// The places are shaped like a night of changes: per 100, 1 directory new or renamed, 19 listings
// (names made or removed) and 80 entries (data or metadata), spread over DIRS directories, paths
// of four levels. Prints the time to spool them and to make each phase's tasks, the spool's size,
// the places tasks made, and the process's peak RSS.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include <fmt/format.h>

#include "passes/changed_places.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

long peak_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

std::string dir_path(uint64_t d) { return fmt::format("p{:03}/q{:03}/d{:09}", d % 997, d % 211, d); }

struct Count : lmover::TaskSink {
  uint64_t tasks = 0, places = 0;
  void submit(lmover::Task t) override {
    ++tasks;
    places += t.names.size();
  }
};

}  // namespace

int main(int argc, char** argv) {
  using lmover::ChangedPlace;
  uint64_t places = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  uint64_t dirs = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : std::max<uint64_t>(1, places / 10);
  std::string path = argc > 3 ? argv[3] : "/tmp/places_sim.spool";
  std::mt19937_64 rng(1);
  auto start = Clock::now();
  lmover::PlaceSpool spool(path);
  for (uint64_t i = 0; i < places; ++i) {
    uint64_t d = rng() % dirs;
    unsigned kind = i % 100;
    if (kind == 0) {
      spool.add({ChangedPlace::Kind::kSubtree, dir_path(d) + fmt::format("/new{}", i), ChangedPlace::Type::kDirectory});
    } else if (kind < 20) {
      spool.add({ChangedPlace::Kind::kListing, dir_path(d), ChangedPlace::Type::kDirectory});
    } else {
      spool.add({ChangedPlace::Kind::kEntry, dir_path(d) + fmt::format("/f{}", rng() % 1000), ChangedPlace::Type::kOther});
    }
  }
  spool.close();
  double spooled = seconds_since(start);
  struct stat st {};
  stat(path.c_str(), &st);
  fmt::print("{} places over {} directories: spooled in {:.2f} s ({} kept after the dedupe window), {:.0f} MiB on disk\n",
             places, dirs, spooled, spool.places(), st.st_size / 1048576.0);
  for (int phase = 0; phase < lmover::ChangedPlacesPass::kPhases - 1; ++phase) {
    Count count;
    auto t = Clock::now();
    lmover::ChangedPlacesPass::root_children(spool, phase, nullptr, count);
    fmt::print("phase {}: {} places in {} tasks, made in {:.2f} s\n", phase, count.places, count.tasks, seconds_since(t));
  }
  fmt::print("peak RSS {} MiB\n", peak_rss_mib());
  unlink(path.c_str());
  return 0;
}
