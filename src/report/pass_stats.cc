#include "report/pass_stats.h"

namespace lmover {

uint64_t PassStats::actions() const {
  return dirs_created + files_copied + specials_created + links_made + metadata_updated + removed + dir_times_set;
}

void PassStats::add_json(const nlohmann::json& counters) {
  auto take = [&](const char* key, std::atomic<uint64_t>& counter) {
    if (counters.contains(key)) add(counter, counters[key].get<uint64_t>());
  };
  take("entries", entries);
  take("dirs_created", dirs_created);
  take("files_copied", files_copied);
  take("bytes_copied", bytes_copied);
  take("specials_created", specials_created);
  take("links_made", links_made);
  take("metadata_updated", metadata_updated);
  take("removed", removed);
  take("dir_times_set", dir_times_set);
  take("unchanged", unchanged);
  take("excluded", excluded);
  take("skipped_by_time", skipped_by_time);
  take("vanished", vanished);
  take("errors", errors);
}

nlohmann::json PassStats::to_json() const {
  return {
      {"entries", entries.load()},
      {"dirs_created", dirs_created.load()},
      {"files_copied", files_copied.load()},
      {"bytes_copied", bytes_copied.load()},
      {"specials_created", specials_created.load()},
      {"links_made", links_made.load()},
      {"metadata_updated", metadata_updated.load()},
      {"removed", removed.load()},
      {"dir_times_set", dir_times_set.load()},
      {"unchanged", unchanged.load()},
      {"excluded", excluded.load()},
      {"skipped_by_time", skipped_by_time.load()},
      {"vanished", vanished.load()},
      {"errors", errors.load()},
      {"actions", actions()},
  };
}

}  // namespace lmover
