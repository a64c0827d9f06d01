// Opening directories inside a pass root without ever following a symlink.
//
// Users own the source tree while lmover runs as root: any directory on a path may be swapped for a
// symlink between our listing and our open. Every directory is therefore opened relative to a root
// (or parent) fd with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), or, where openat2 is missing or
// the path is longer than PATH_MAX, one O_NOFOLLOW component at a time. A symlink anywhere on the
// path fails the open with ELOOP/ENOTDIR instead of leading outside the root.
#pragma once

#include <optional>
#include <string_view>

#include "fs/entry_meta.h"
#include "fs/unique_fd.h"

namespace lmover {

// Opens directory `rel` ("" = the root itself) beneath `root_fd` for reading, with O_NOATIME where
// permitted so that walking does not disturb access times. Throws FsError naming `rel`.
UniqueFd open_dir_beneath(int root_fd, std::string_view rel);
// The same directory, looked up (O_PATH) but not opened: a directory fd for the *at calls and
// fstat only (no listing, no xattrs or ioctls of its own), without the open and close that cost a
// round trip each on a network or FUSE filesystem. "" = a new descriptor of the root. Throws FsError.
UniqueFd lookup_dir_beneath(int root_fd, std::string_view rel);

// The stat of entry `rel` beneath `root_fd` ("" = the root), reached as a walk reaches it: its
// directories resolved beneath the root with no symlink followed, the entry itself not followed.
// The directories are only looked up (O_PATH), never opened: on a network or FUSE filesystem an
// open and its close are two more round trips, per stat. Never throws: when
// there is no such entry, nullopt with *err set to why (ENOENT; ENOTDIR or ELOOP for a component on
// the way that is no directory or a symlink; any other errno of the lookup).
std::optional<EntryMeta> stat_beneath(int root_fd, std::string_view rel, int* err);

// Opens child directory `name` of `dir_fd` (one component, never a symlink).
UniqueFd open_dir_at(int dir_fd, const char* name, std::string_view rel);

// Like open_dir_at, for an entry that may no longer be a directory: one that is gone (ENOENT) or is
// not a directory (ENOTDIR, or ELOOP: a symlink) returns an invalid fd with *why set to that errno,
// so the caller can tell "vanished" from "something else now". Other failures throw.
UniqueFd open_dir_if_still_one(int dir_fd, const char* name, std::string_view rel, int* why);

// Pins entry `name` of `dir_fd` without opening it (O_PATH|O_NOFOLLOW: nothing is asked of the
// filesystem but the lookup, no open reaches a device or FIFO), so that its stat, its readlink and
// a later reopen all reach this very inode with one lookup in all. Returns an invalid fd if the
// entry is gone; other failures throw.
UniqueFd pin_entry(int dir_fd, const char* name, std::string_view rel);

// Opens the inode that `pinned` holds (from pin_entry; never a symlink) with `flags`, through its
// /proc magic link: no lookup by name again. Returns -1 with errno set; ENOENT when /proc is not
// mounted (the caller then opens by name).
int reopen_pinned(int pinned, int flags);

// openat(dir_fd, name, flags | O_NOATIME), without O_NOATIME once the kernel refused it (EPERM:
// entries we do not own, without CAP_FOWNER). Returns the fd or -1 with errno set.
int openat_noatime(int dir_fd, const char* name, int flags);

// Opens a root given by the user (the only place an absolute path is used).
UniqueFd open_root(const std::string& path);

}  // namespace lmover
