// Building one non-directory entry on the target from its source twin: content, then xattrs,
// owner, mode, times (see node_ops.h for why that order). If anything fails, the half-built entry
// is removed, so no entry ever carries the source's mtime without the source's content and the
// next pass retries it.
#pragma once

#include <functional>
#include <optional>
#include <string_view>

#include "fs/entry_meta.h"
#include "fs/node_ref.h"
#include "fs/unique_fd.h"
#include "fs/xattrs.h"
#include "passes/pass_context.h"

namespace lmover {

struct EntryLocation {
  int dir_fd;
  const char* name;
  // False when the directory is known to hand new entries no xattrs (it has no default ACL).
  bool may_inherit_xattrs = true;
  // The source entry pinned by pin_entry (fs/resolve.h) when the caller has it: read through it,
  // the entry costs no second lookup by name.
  int pinned = -1;
};

// What a copy read its entry from: the source inode (held open, for a regular file) and its stat
// when the copy began. Looked at again once the target entry is complete, named and timed
// (changed_since): a source written, touched back or renamed over meanwhile must not leave a target
// that every later pass calls unchanged (its ctime is later than the source's change).
struct SourceSnapshot {
  UniqueFd fd;
  EntryMeta meta;
  bool taken = false;  // false: nothing was read from the source (nothing to check)
  bool settled = true;  // false: read while the source was still changing (settle_source)
};

// Waits until the source file open at `fd` (whose stat is `meta`, refreshed here) last changed at
// least two timestamp ticks ago. The kernel stamps ctime and mtime from a clock that moves once a
// tick (a few ms; a second where times are whole seconds, as on Lustre): a second write in the
// tick of the first leaves both as they were, and one whose mtime is put back is then invisible.
// Once the last change is older than that, any change during the read moves the ctime. Returns
// false if the file kept changing (three waits): its copy cannot be trusted.
bool settle_source(const std::function<EntryMeta()>& restat, EntryMeta& meta);
bool settle_source(int fd, EntryMeta& meta, std::string_view rel);

// Whether the source entry changed since `seen`: another inode under the name, or the same one with
// another ctime, size, mtime or link count. Through the open inode when it has one, else by name.
bool changed_since(const SourceSnapshot& seen, EntryLocation src, std::string_view rel);

// Whether source `src` (whose stat is `meta`) and target `dst` hold the same data: for a regular
// file, on Lustre, the data version the target was copied from against the source's now, else the
// bytes (read until the first difference; never those of an HSM-released file: false); the link
// target for a symlink.
bool same_data(const PassContext& ctx, EntryLocation src, const EntryMeta& meta, EntryLocation dst, std::string_view rel);

// The xattrs of source entry `node` that the copy carries over: none under --no-xattrs, where not
// even the listing is asked for.
XattrList xattrs_to_copy(const PassContext& ctx, const NodeRef& node);

// Gives the entry open at `dst_fd` the project id and project-inherit flag of the one open at
// `src_fd`, whose metadata is `src` (fs/project_id.h); returns true if anything was written.
bool copy_project_id(int src_fd, const EntryMeta& src, int dst_fd, std::string_view rel);

// Opens source file `src` for reading (through its pin when it has one, else by name, never
// following a symlink; O_NONBLOCK: a FIFO swapped in since the stat must not hang the thread).
// Throws FsError naming `rel`.
UniqueFd open_source_file(EntryLocation src, std::string_view rel);

// Creates `dst` (which must not exist) as a copy of `src`, whose stat is `meta`. Returns what it
// read from (the three below alike).
SourceSnapshot create_entry(const PassContext& ctx, EntryLocation src, const EntryMeta& meta, EntryLocation dst,
                  std::string_view rel);

// Builds the copy under a temporary name beside `dst` and renames it over `dst`: readers see the
// old entry or the new one, never a half-written file.
SourceSnapshot rewrite_entry(const PassContext& ctx, EntryLocation src, const EntryMeta& meta, EntryLocation dst,
                   std::string_view rel);

// Fixes xattrs, owner, mode and times of an existing target entry with the same content.
SourceSnapshot update_entry_metadata(const PassContext& ctx, EntryLocation src, const EntryMeta& meta, EntryLocation dst,
                           const EntryMeta& current, std::string_view rel);

}  // namespace lmover
