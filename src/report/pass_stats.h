// PassStats: the counters of one pass, updated from many threads at once (relaxed atomics: they
// are tallies, not synchronisation). The same counters will be pushed to memcached/Graphite.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace lmover {

struct PassStats {
  std::atomic<uint64_t> entries{0};          // source entries looked at
  std::atomic<uint64_t> dirs_created{0};
  std::atomic<uint64_t> files_copied{0};     // regular files whose data was written
  std::atomic<uint64_t> bytes_copied{0};
  std::atomic<uint64_t> specials_created{0}; // symlinks, FIFOs, sockets, devices
  std::atomic<uint64_t> links_made{0};       // hard links created on the target
  std::atomic<uint64_t> metadata_updated{0};
  std::atomic<uint64_t> removed{0};          // target entries deleted
  std::atomic<uint64_t> dir_times_set{0};
  // delete: names removed of target inodes that have other names (hard-link groups on the
  // target); those other names may now be a split group, which `sync` settles at once (relink).
  std::atomic<uint64_t> shared_names_removed{0};
  std::atomic<uint64_t> unchanged{0};
  std::atomic<uint64_t> excluded{0};
  std::atomic<uint64_t> skipped_by_time{0};
  std::atomic<uint64_t> vanished{0};         // gone from the source between listing and handling
  // Written (or renamed over) on the source while it was being copied: the target entry was
  // dropped (a retry within the pass failed too), so the next pass copies it again.
  std::atomic<uint64_t> changed_during_copy{0};
  // HSM (Lustre): source files met released (data on the archive only), and what became of them
  // (--hsm): left off the target and listed (deferred), made released on the target (stubbed), or
  // restored from the archive and copied (restored, and their bytes).
  std::atomic<uint64_t> hsm_released{0};
  std::atomic<uint64_t> hsm_deferred{0};
  std::atomic<uint64_t> hsm_stubbed{0};
  std::atomic<uint64_t> hsm_restored{0};
  std::atomic<uint64_t> hsm_restored_bytes{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> differences{0};      // verify: entries that differ between the trees

  static void add(std::atomic<uint64_t>& counter, uint64_t n = 1) { counter.fetch_add(n, std::memory_order_relaxed); }
  // Takes back what was counted for work that was then discarded.
  static void subtract(std::atomic<uint64_t>& counter, uint64_t n = 1) { counter.fetch_sub(n, std::memory_order_relaxed); }

  // Everything that wrote (or, in a dry run, would write) to the target.
  uint64_t actions() const;
  // Whether the pass left something undone or different (exit 1): errors, differences, deferrals.
  bool some_failed() const { return errors > 0 || differences > 0 || hsm_deferred > 0; }
  // Every counter's name, in the order of JSON, memcached and Prometheus.
  static const std::vector<std::string>& names();
  nlohmann::json to_json() const;
  // The counters that are not zero, by name (static strings): cheap enough to take once per task.
  std::vector<std::pair<std::string_view, uint64_t>> nonzero() const;
  // Adds counters reported by a remote task (unknown keys are ignored).
  void add_json(const nlohmann::json& counters);
  // Sets every counter to its value in `counters` (0 when absent).
  void assign_json(const nlohmann::json& counters);
};

}  // namespace lmover
