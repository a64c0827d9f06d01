// PassStats: the counters of one pass, updated from many threads at once (relaxed atomics: they
// are tallies, not synchronisation), and the one list of them that the sinks read.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace lmover {

// Every counter of a pass, once: its name (in --json, memcached keys, Graphite paths, Prometheus
// lmover_<name>_total) and what it counts (Prometheus HELP). PassStats is made from this list and
// every sink reads it, so a counter added here reaches all of them. The order is the output's.
#define LMOVER_PASS_COUNTERS(X)                                                                          \
  X(entries, "Source entries looked at.")                                                                \
  X(dirs_created, "Directories created on the target.")                                                  \
  X(files_copied, "Regular files whose data was written.")                                               \
  X(bytes_copied, "Bytes of file data written.")                                                         \
  X(specials_created, "Symlinks, FIFOs, sockets and devices created.")                                   \
  X(links_made, "Hard links created on the target.")                                                     \
  X(metadata_updated, "Entries whose metadata alone was updated.")                                       \
  X(removed, "Target entries deleted.")                                                                  \
  /* delete: names of target inodes that have other names; `sync` settles those groups (relink). */     \
  X(shared_names_removed, "Names removed of target inodes that have other names (delete).")              \
  X(dir_times_set, "Directories whose times were set.")                                                  \
  X(unchanged, "Entries found unchanged.")                                                               \
  X(excluded, "Entries left alone by the exclude list.")                                                 \
  X(skipped_by_time, "Files skipped by the time filters.")                                               \
  X(vanished, "Entries gone from the source between listing and handling.")                              \
  /* The target entry was dropped (a retry within the pass failed too): the next pass copies it. */     \
  X(changed_during_copy, "Entries written or replaced on the source while they were copied.")            \
  /* HSM (Lustre), by --hsm: left off and listed, made released on the target, or restored. */          \
  X(hsm_released, "Source files met released (HSM: data on the archive only).")                          \
  X(hsm_deferred, "Released files left off the target and listed (--hsm skip).")                         \
  X(hsm_stubbed, "Released files made released on the target (--hsm stub).")                             \
  X(hsm_restored, "Released files restored from the archive and copied (--hsm restore).")                \
  X(hsm_restored_bytes, "Bytes of the files restored from the archive.")                                 \
  X(errors, "Entries that failed.")                                                                      \
  X(differences, "Entries that differ between the trees (verify).")

struct PassStats;

#define LMOVER_COUNT_ONE(name, help) +1
inline constexpr size_t kCounterCount = 0 LMOVER_PASS_COUNTERS(LMOVER_COUNT_ONE);
#undef LMOVER_COUNT_ONE

// A plain copy of a pass's counters, in the table's order: what travels between layers (a
// distributed run's totals from the submitter, a checkpoint's) and what PassStats is set from.
// JSON is only how it is written down (checkpoints, `status`).
struct CounterSet {
  std::array<uint64_t, kCounterCount> values{};

  // Adds `n` to the counter `name`; false (nothing added) for a name that is not ours, such as a
  // counter of a newer worker.
  bool add(std::string_view name, uint64_t n);
  CounterSet& operator+=(const CounterSet& other);
  uint64_t operator[](std::string_view name) const;  // 0 for a name that is not ours
  bool operator==(const CounterSet&) const = default;
  // The counters that are not zero, by name: {} for none.
  nlohmann::json to_json() const;
  // Unknown names are ignored; a value that is not an unsigned number throws nlohmann's error.
  static CounterSet from_json(const nlohmann::json& counters);
};

// One row of LMOVER_PASS_COUNTERS.
struct CounterInfo {
  const char* name;
  const char* help;
  std::atomic<uint64_t> PassStats::*member;
};

struct PassStats {
#define LMOVER_COUNTER_MEMBER(name, help) std::atomic<uint64_t> name{0};
  LMOVER_PASS_COUNTERS(LMOVER_COUNTER_MEMBER)
#undef LMOVER_COUNTER_MEMBER

  static void add(std::atomic<uint64_t>& counter, uint64_t n = 1) { counter.fetch_add(n, std::memory_order_relaxed); }
  // Takes back what was counted for work that was then discarded.
  static void subtract(std::atomic<uint64_t>& counter, uint64_t n = 1) { counter.fetch_sub(n, std::memory_order_relaxed); }

  // Everything that wrote (or, in a dry run, would write) to the target.
  uint64_t actions() const;
  // Whether the pass left something undone or different (exit 1): errors, differences, deferrals.
  bool some_failed() const { return errors > 0 || differences > 0 || hsm_deferred > 0; }
  // The counters, in the order of JSON, memcached and Prometheus.
  static const std::vector<CounterInfo>& table();
  static const std::vector<std::string>& names();
  // What `name` counts ("" for no counter of ours).
  static std::string_view help(std::string_view name);
  nlohmann::json to_json() const;
  // The counters that are not zero, by name (static strings): cheap enough to take once per task.
  std::vector<std::pair<std::string_view, uint64_t>> nonzero() const;
  CounterSet snapshot() const;
  // Sets every counter to its value in `counters`.
  void assign(const CounterSet& counters);
};

}  // namespace lmover
