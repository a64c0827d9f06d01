// The copy pass's decision for one entry: given the source entry and its twin on the target (if
// any), what must be done. Pure: no I/O, unit-tested on plain values.
//
// "Unchanged" content means same type, size and mtime (ns), plus same rdev for devices. Symlinks
// follow the same rule: a symlink cannot be rewritten in place, so a new target means a new mtime
// (reading both targets on every run would also bump both atimes). Metadata is looked at again
// when mode or owner differ, or when the source ctime is newer than the target's: xattr and ACL
// edits leave size and mtime alone but do bump the ctime, and the target's ctime was set when we
// last wrote it. A regular file or symlink whose ctime is newer but whose size and mtime match may
// also have had its data rewritten and its mtime put back (`touch -r`, `cp -p` then `mv`): its
// content is compared before only its metadata is fixed.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string_view>
#include <vector>

#include "fs/entry_meta.h"

namespace lmover {

enum class CopyAction {
  kNone,            // identical: touch nothing
  kCreate,          // no target entry: create it
  kReplace,         // target has another type: remove it, then create
  kRewrite,         // same type, other content: build a new entry aside and rename it over
  kUpdateMetadata,  // same content: fix owner/mode/xattrs/times in place
  kLinkGroup,       // a member of a hard-link group that is not settled on the target
  kCheckContent,    // same size and mtime, newer source ctime: compare the data, then rewrite or update
};

// What the change rule may look at. Owners that this run cannot set (not root) are not compared:
// comparing them would call every foreign-owned entry changed on every run.
struct ChangeRule {
  bool uid = true;  // the run sets owners (root, and not --no-owner)
  // Without `uid`: the groups this run may still give its files (its own, getgroups); a file of
  // another group keeps ours, and its setgid bit (the kernel clears it on chmod by a non-member).
  const std::vector<gid_t>* settable_groups = nullptr;
  // --rewrite: every non-directory counts as changed, directories as needing their metadata set.
  bool rewrite = false;

  bool gid_kept(gid_t gid) const;
  // Whether `src` and `dst` differ in mode or owners, as far as this run can set them.
  bool mode_differs(const EntryMeta& src, const EntryMeta& dst) const;
  bool owners_differ(const EntryMeta& src, const EntryMeta& dst) const;
};

std::string_view action_name(CopyAction action);

// True when the target entry already holds the source's content (type, size, mtime, rdev).
bool same_content(const EntryMeta& src, const EntryMeta& dst);

// Whether `src` and `dst` match in everything the rule compares of the inode itself: permission
// bits, owners (those the rule keeps), and the source's ctime not newer than the target's.
bool same_metadata(const EntryMeta& src, const EntryMeta& dst, const ChangeRule& rule = {});

CopyAction decide_copy(const EntryMeta& src, const std::optional<EntryMeta>& dst, const ChangeRule& rule = {});

}  // namespace lmover
