// Creating entries and setting their metadata on the target, always relative to a directory fd.
//
// Metadata order matters: xattrs (ACLs) first, then owner, then mode (chown clears setuid/setgid,
// so the mode must come after it), then file capabilities (chown clears those too), then times
// last (every other change bumps them).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "fs/entry_meta.h"
#include "fs/node_ref.h"
#include "fs/unique_fd.h"
#include "fs/xattrs.h"

namespace lmover {

struct MetadataPlan {
  // chown needs root; an unprivileged run (or --no-owner) keeps its own uid, and gives a file its
  // source's group only where that is one of its own groups (own_groups).
  bool owner = true;
  bool times = true;  // directories get their times in the dirtime pass instead
  // --no-xattrs: xattrs and ACLs are neither read nor written (rsync without -X/-A, dcp --xattrs
  // none): one request less per entry on a metadata server, for trees known to have none.
  bool xattrs = true;
  // A brand-new entry that nothing can have given xattrs (no default ACL above it): when the
  // source has none either, there is nothing to read or remove.
  bool new_without_inherited_xattrs = false;
};

// Makes `dst` carry the metadata of `src`. `current` is what `dst` has now (nullptr: unknown, set
// everything). Writes only what differs; returns true if anything was written.
bool apply_metadata(const NodeRef& dst, const EntryMeta& src, const XattrList& xattrs, const EntryMeta* current,
                    const MetadataPlan& plan);

// The groups this process may give a file it owns without privilege (its egid and supplementary
// groups), read once.
const std::vector<gid_t>& own_groups();

// Sets atime and mtime of `dst` if they differ from `current`; returns true if written.
bool apply_times(const NodeRef& dst, const EntryMeta& src, const EntryMeta* current);

// A new regular file, O_EXCL, mode 0600 until its metadata is applied.
UniqueFd create_file(int dir_fd, const char* name, std::string_view rel);

// A new symlink, FIFO, socket or device node of `src`'s type. `link_target` is used for symlinks.
void create_special(int dir_fd, const char* name, const EntryMeta& src, const std::string& link_target,
                    std::string_view rel);

// A new directory, mode 0700 until its metadata is applied.
void create_dir(int dir_fd, const char* name, std::string_view rel);

std::string read_link(int dir_fd, const char* name, std::string_view rel);

// Called before a name of a target file is unlinked or renamed over. When that file is regular and
// has other names, its mtime is moved by 1 ns: the unlink moves its ctime past any source change
// it follows, and the change rule (which trusts a target ctime newer than the source's) would then
// take its other names for unchanged. With another mtime (nudge_mtime) they are copied again.
void unsettle_other_names(int dir_fd, const char* name, std::string_view rel);
void unsettle_other_names(int dir_fd, const char* name, const EntryMeta& meta, std::string_view rel);

// Moves the mtime of `node` (whose stat is `meta`) 1 ns later. Always later: two moves of one
// inode (a rewrite of one name, then the staging area's removal) must not bring it back.
void nudge_mtime(const NodeRef& node, const EntryMeta& meta);

// A fresh name for staging an entry next to its final name; short enough for any directory.
std::string temp_name();

// Moves the staged entry `staged` over `name` in `dir_fd` (the name never disappears). On failure
// the staged entry is removed and FsError("rename into place", rel) thrown.
void rename_into_place(int dir_fd, const std::string& staged, const char* name, std::string_view rel);

}  // namespace lmover
