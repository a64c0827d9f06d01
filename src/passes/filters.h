// Filters: which source entries a pass leaves alone. An excluded path is neither copied nor
// deleted on the target (as rsync treats excludes), nor are its directory times set.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "fs/entry_meta.h"

namespace lmover {

class Filters {
 public:
  // Each entry of `excluded` is a path relative to SRC (leading "./" or "/" and trailing "/" are
  // ignored); the entry at that path and everything below it is excluded.
  void exclude(std::string_view path);
  // Loads one path a line (raw bytes; blank lines and lines starting with '#' ignored).
  // Throws FsError naming the file when it cannot be read.
  void exclude_from_file(const std::string& file);

  // Non-directories last accessed before `t` are skipped (the original tool's OLDEST_DATE).
  void skip_atime_before(timespec t) { atime_before_ = t; }
  // Non-directories modified after `t` are skipped (the original tool's NEWEST_DATE).
  void skip_mtime_after(timespec t) { mtime_after_ = t; }

  // --only-from: the pass touches only these paths and what is below them (a failure list, or
  // verify's list of differences), reaching them through their parent directories, which it
  // settles on the way. Normalised like excludes; loaded like an exclude list.
  void only(std::string_view path);
  void only_from_file(const std::string& file);
  enum class Reach {
    kAll,   // no --only-from, or `rel` is a listed path or below one: the pass does everything
    kPath,  // a directory on the way down to a listed path: walked, settled, nothing else
    kNone,  // neither: left alone
  };
  Reach reach(std::string_view rel) const;
  bool limited() const { return !only_.empty(); }
  std::vector<std::string> only_paths() const { return {only_.begin(), only_.end()}; }

  // Exact match is enough: the walk never descends into an excluded directory.
  bool excluded(std::string_view rel) const { return !excluded_.empty() && excluded_.count(std::string(rel)) > 0; }
  bool skipped_by_time(const EntryMeta& meta) const;
  size_t exclude_count() const { return excluded_.size(); }
  std::vector<std::string> excluded_paths() const { return {excluded_.begin(), excluded_.end()}; }
  const std::optional<timespec>& atime_before() const { return atime_before_; }
  const std::optional<timespec>& mtime_after() const { return mtime_after_; }

 private:
  std::unordered_set<std::string> excluded_;
  std::unordered_set<std::string> only_, on_the_way_;  // on_the_way_: ancestors of only_, "" included
  std::optional<timespec> atime_before_;
  std::optional<timespec> mtime_after_;
};

}  // namespace lmover
