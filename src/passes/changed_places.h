// A pass over the places a changelog names (lustre/changes.h) instead of the whole tree: the final
// pass whose cost follows the changes, not the file count.
//
// PlaceSpool keeps the places on disk as they are found (nothing holds them all in memory), in
// slices of kSliceSize. ChangedPlacesPass runs a pass over them on any engine: the root task
// becomes one task per slice, and a slice's task becomes, for each of its places, the task the
// pass asks for (Pass::task_for): so the embedded engine's queue holds slices, not places. Over a
// broker the places travel in their tasks (TaskKind::kPlaces), and the broker holds them.
//
// A run visits the places in phases, one engine run each, so that no name is settled by two
// tasks at once (a listing and an entry's own place can name the same one) without any table of
// names: first the directories new or renamed on the source (walked whole; every place at or
// beneath one is left to that walk, since the target may not have its directories yet), then the
// listings (a copy acts on the names the target lacks, a delete on those the source lacks) and
// directory times, then the changed entries (one made by a listing is then found settled), then
// the other names of the hard-link groups the first two met (LinkFollower). Held in memory: one
// path per changed directory (listed, new or renamed) and one FID per hard-linked file met, not
// one per changed entry. Excluded places are left alone.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "fs/unique_fd.h"
#include "lustre/changes.h"
#include "passes/pass.h"
#include "passes/pass_context.h"

namespace lmover {

class PlaceSpool {
 public:
  // Small: a slice is expanded by one thread (a lookup for each place whose type was not taken when
  // it was found), so slices are what spreads the expansion over the threads; the offsets held are
  // 8 bytes a slice.
  static constexpr size_t kSliceSize = 64;

  // Creates `path` afresh (the caller removes it). Throws FsError.
  explicit PlaceSpool(std::string path);
  PlaceSpool(const PlaceSpool&) = delete;
  PlaceSpool& operator=(const PlaceSpool&) = delete;

  // Not thread-safe: the scan calls it one place at a time. A place repeated within the last
  // ~10^6 is dropped (the same entry named by many records), a directory's times whenever
  // repeated. Throws FsError.
  void add(const ChangedPlace& place);
  // Done adding: written out. Throws FsError.
  void close();

  uint64_t places() const { return places_; }
  // How many of the places are of `kind`.
  uint64_t places_of(ChangedPlace::Kind kind) const;
  size_t slices() const { return offsets_.size(); }
  // The places of slice `i`. Thread-safe after close(). Throws FsError.
  std::vector<ChangedPlace> read(size_t slice) const;
  // Whether `place` is left to another: the walk of a new or renamed directory at or above it, or,
  // for a directory's times, its listing.
  bool covered(const ChangedPlace& place) const;
  const std::string& path() const { return path_; }

 private:
  void flush();

  std::string path_;
  UniqueFd fd_;
  std::string buffer_;
  uint64_t written_ = 0, places_ = 0;
  uint64_t subtree_places_ = 0, listing_places_ = 0, entry_places_ = 0, times_places_ = 0;
  std::vector<uint64_t> offsets_;  // where each slice begins; a slice ends where the next begins
  std::unordered_set<std::string> recent_;  // the dedupe window of entries' paths
  // Looked up by prefix for every place (covered()): by string_view, without a copy each.
  struct PathHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using PathSet = std::unordered_set<std::string, PathHash, std::equal_to<>>;
  PathSet subtrees_;  // one per directory (or file) made or renamed on the source
  PathSet listings_;  // every directory whose names changed
  PathSet times_;     // every directory whose times are set again
};

// The other names of the hard-linked files that a changelog-driven copy settles in its first two
// phases (a walk of a renamed directory, a listing's new names): every name of a group must be
// settled in the pass that touches it, or the group splits on the target, and no record names the
// names outside the walk. Each group is resolved once, by FID (fid2path: all its links), into a
// spool of entry places that a fourth phase visits, after the third (whose own entries may be among
// them: settled by then, they are found so). Thread-safe.
class LinkFollower {
 public:
  // `src_root`: SRC open, beneath which the files met are reached.
  LinkFollower(const ChangelogSource& source, int src_root, std::string spool_path)
      : source_(source), src_root_(src_root), spool_(std::move(spool_path)) {}
  ~LinkFollower();
  void met(std::string_view rel);
  // Done meeting: the places for the fourth phase.
  const PlaceSpool& close();
  // The places, once closed (nullptr before): a later dirtime visits them too, since linking those
  // names moved their directories' times on the target and no record names those directories.
  const PlaceSpool* places() const { return closed_ ? &spool_ : nullptr; }

 private:
  const ChangelogSource& source_;
  int src_root_;
  std::mutex mutex_;
  std::unordered_set<std::string> groups_;  // FIDs resolved already: one per hard-linked file met
  PlaceSpool spool_;
  bool closed_ = false;
};

class ChangedPlacesPass : public Pass {
 public:
  // New or renamed directories; listings and directory times; changed entries; the other names of
  // the hard-link groups met in the first two (a LinkFollower's).
  static constexpr int kPhases = 4;
  // The phase (0 to kPhases - 1) a place is visited in.
  static int phase_of(ChangedPlace::Kind kind);

  // Phase `phase` of `inner` over `spool`, or in the last phase over `more` (a LinkFollower's;
  // nothing when null); `ctx` is inner's context (filters, roots, stats). prepare() and finish()
  // are the caller's, once around all the phases. The root task's children stand for the spool's
  // slices (the engine's queue holds slices, not places).
  ChangedPlacesPass(Pass& inner, const PassContext& ctx, const PlaceSpool& spool, int phase,
                    const PlaceSpool* more = nullptr)
      : inner_(inner), ctx_(ctx), spool_(&spool), phase_(phase), more_(more) {}
  // Where the places travel in their tasks (TaskKind::kPlaces, made by root_children on the node
  // that holds the spool): `inner` over the places of such tasks, other tasks as `inner` does.
  ChangedPlacesPass(Pass& inner, const PassContext& ctx) : inner_(inner), ctx_(ctx) {}

  // The root task's children for phase `phase` of `spool` (or `more`, as above) as places tasks of
  // up to kSliceSize places each, the places carried in them: what a distributed run publishes.
  static void root_children(const PlaceSpool& spool, int phase, const PlaceSpool* more, TaskSink& sink);

  void handle(const Task& task, TaskSink& sink) override;

 private:
  // Whether phase `phase` visits `place` of `from` (`more`: every place; else those of the phase
  // that no other place covers).
  static bool visits(const PlaceSpool& spool, int phase, const PlaceSpool* more, const PlaceSpool& from,
                     const ChangedPlace& place);
  // The task of each place that is not excluded, as `inner` asks for it.
  void expand(const std::vector<ChangedPlace>& places, const Task& task, TaskSink& sink);
  bool excluded(const std::string& rel) const;  // itself or a directory above it

  Pass& inner_;
  const PassContext& ctx_;
  const PlaceSpool* spool_ = nullptr;
  int phase_ = 0;
  const PlaceSpool* more_ = nullptr;
};

}  // namespace lmover
