// HardlinkFarm: makes every source hard-link group one inode on the target, whichever thread (or,
// later, whichever worker node) meets which member first.
//
// The target filesystem itself is the meeting point, so no shared memory is needed: the first
// member to arrive publishes the group's target inode under DST/.lmover-hardlinks/<dev>-<ino>-<ctime>
// (atomically, with link(2), which fails with EEXIST for everyone else); every member then links
// its own name to that inode. The source's ctime is in the key: a member that sees the group after
// its data changed does not link to an inode copied from before.
//
// Every link made to a group's inode, and the farm's own removal at the end, moves that inode's
// ctime past any source change they follow, so the change rule cannot see a change that came after
// the copier's own check. The copier therefore leaves the source path beside the key (a symlink
// `<key>.src`), and the removal looks at each group's source once more: a group whose source is no
// longer the version of its key gets another mtime on the target, which the next pass sees. The farm is created only when a group needs settling and is removed
// at the end of the pass, which restores the link counts.
#pragma once

#include <mutex>
#include <optional>
#include <string_view>

#include "fs/entry_meta.h"
#include "passes/entry_copy.h"
#include "passes/pass_context.h"

namespace lmover {

class HardlinkFarm {
 public:
  explicit HardlinkFarm(const PassContext& ctx) : ctx_(ctx) {}

  // Makes `dst` a name of the target inode of `meta`'s group. `existing` is what `dst` holds now;
  // `existing_has_content` tells whether it already holds the source's content. Returns what it
  // read from the source (entry_copy.h): the stat it settled by, whoever copied the data.
  SourceSnapshot settle(EntryLocation src, const EntryMeta& meta, EntryLocation dst,
                        const std::optional<EntryMeta>& existing, bool existing_has_content, std::string_view rel);

  // Drops the group's staged inode for `meta` (its source changed while it was copied), so that no
  // further member links to it.
  void forget(const EntryMeta& meta);

  // Removes the farm (also a stale one left by a killed run), after marking for the next pass the
  // groups whose source changed since they were copied. Throws FsError on failure.
  void remove();

 private:
  int farm_fd();
  // Gives the target inode of each group whose source moved on a changed mtime (see above).
  void unsettle_changed_groups(int farm);
  void link_into_place(int farm, const char* key, EntryLocation dst, const std::optional<EntryMeta>& existing,
                       std::string_view rel);

  const PassContext& ctx_;
  std::mutex mutex_;
  UniqueFd farm_;
};

}  // namespace lmover
