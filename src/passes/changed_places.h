// A pass over the places a changelog names (lustre/changes.h) instead of the whole tree: the final
// pass whose cost follows the changes, not the file count.
//
// PlaceSpool keeps the places on disk as they are found (nothing holds them all in memory), in
// slices of kSliceSize. ChangedPlacesPass runs a pass over them on any engine: the root task
// becomes one task per slice, and a slice's task becomes, for each of its places, the task the
// pass asks for (Pass::task_for): so the engine's queue holds slices, not places. Directories new
// or renamed on the source are walked whole, and every place at or beneath one is left to that walk
// (the target may not have their directories yet); an entry whose directory is listed is left to
// that listing, which also walks whole the new or renamed directories right below it (a name
// reached from two places at once would be settled twice concurrently);
// excluded places are left alone. Held in memory: one path per changed directory (listed, or new or
// renamed), not per changed entry.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "fs/unique_fd.h"
#include "lustre/changes.h"
#include "passes/pass.h"
#include "passes/pass_context.h"

namespace lmover {

class PlaceSpool {
 public:
  static constexpr size_t kSliceSize = 1000;

  // Creates `path` afresh (the caller removes it). Throws FsError.
  explicit PlaceSpool(std::string path);
  PlaceSpool(const PlaceSpool&) = delete;
  PlaceSpool& operator=(const PlaceSpool&) = delete;

  // Not thread-safe: the scan calls it one place at a time. A place repeated within the last
  // ~10^6 is dropped (the same directory named by many records). Throws FsError.
  void add(const ChangedPlace& place);
  // Done adding: written out. Throws FsError.
  void close();

  uint64_t places() const { return places_; }
  size_t slices() const { return offsets_.size(); }
  // The places of slice `i`. Thread-safe after close(). Throws FsError.
  std::vector<ChangedPlace> read(size_t slice) const;
  // Whether `place` is left to another: the walk of a new or renamed directory at or above it, or,
  // for an entry or a new or renamed directory, its parent's listing.
  bool covered(const ChangedPlace& place) const;
  // The new or renamed directories right below `dir`, by name: its listing walks them whole.
  std::vector<std::string> subtrees_below(const std::string& dir) const;
  const std::string& path() const { return path_; }

 private:
  void flush();

  std::string path_;
  UniqueFd fd_;
  std::string buffer_;
  uint64_t written_ = 0, places_ = 0;
  std::vector<uint64_t> offsets_;  // where each slice begins; a slice ends where the next begins
  std::unordered_set<std::string> recent_;  // the dedupe window: kind + path
  std::set<std::string> subtrees_;  // held whole: one per directory made or renamed on the source
  std::unordered_set<std::string> listings_;  // every directory whose names changed
};

class ChangedPlacesPass : public Pass {
 public:
  // `inner` does the work; `ctx` is its context (filters, roots, stats).
  ChangedPlacesPass(Pass& inner, const PassContext& ctx, const PlaceSpool& spool)
      : inner_(inner), ctx_(ctx), spool_(spool) {}

  void prepare() override { inner_.prepare(); }
  void finish() override { inner_.finish(); }
  void handle(const Task& task, TaskSink& sink) override;

 private:
  void expand_slice(size_t slice, const Task& task, TaskSink& sink);
  bool excluded(const std::string& rel) const;  // itself or a directory above it

  Pass& inner_;
  const PassContext& ctx_;
  const PlaceSpool& spool_;
};

}  // namespace lmover
