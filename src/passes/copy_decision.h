// The copy pass's decision for one entry: given the source entry and its twin on the target (if
// any), what must be done. Pure: no I/O, unit-tested on plain values.
//
// "Unchanged" content means same type, size and mtime (ns), plus same rdev for devices. Symlinks
// follow the same rule: a symlink cannot be rewritten in place, so a new target means a new mtime
// (reading both targets on every run would also bump both atimes). Metadata is looked at again
// when mode or owner differ, or when the source ctime is newer than the target's: xattr and ACL
// edits leave size and mtime alone but do bump the ctime, and the target's ctime was set when we
// last wrote it.
#pragma once

#include <optional>
#include <string_view>

#include "fs/entry_meta.h"

namespace lmover {

enum class CopyAction {
  kNone,            // identical: touch nothing
  kCreate,          // no target entry: create it
  kReplace,         // target has another type: remove it, then create
  kRewrite,         // same type, other content: build a new entry aside and rename it over
  kUpdateMetadata,  // same content: fix owner/mode/xattrs/times in place
  kLinkGroup,       // a member of a hard-link group that is not settled on the target
};

std::string_view action_name(CopyAction action);

// True when the target entry already holds the source's content (type, size, mtime, rdev).
bool same_content(const EntryMeta& src, const EntryMeta& dst);

CopyAction decide_copy(const EntryMeta& src, const std::optional<EntryMeta>& dst);

}  // namespace lmover
