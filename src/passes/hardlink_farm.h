// HardlinkFarm: makes every source hard-link group one inode on the target, whichever thread (or,
// later, whichever worker node) meets which member first.
//
// The target filesystem itself is the meeting point, so no shared memory is needed: the first
// member to arrive publishes the group's target inode under DST/.lmover-hardlinks/<dev>-<ino>
// (atomically, with link(2), which fails with EEXIST for everyone else); every member then links
// its own name to that inode. The farm is created only when a group needs settling and is removed
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
  // `existing_has_content` tells whether it already holds the source's content.
  void settle(EntryLocation src, const EntryMeta& meta, EntryLocation dst, const std::optional<EntryMeta>& existing,
              bool existing_has_content, std::string_view rel);

  // Removes the farm (also a stale one left by a killed run). Throws FsError on failure.
  void remove();

 private:
  int farm_fd();
  void link_into_place(int farm, const char* key, EntryLocation dst, const std::optional<EntryMeta>& existing,
                       std::string_view rel);

  const PassContext& ctx_;
  std::mutex mutex_;
  UniqueFd farm_;
};

}  // namespace lmover
