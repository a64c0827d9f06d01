// EntryMeta: what lmover knows of one directory entry (a copy of the stat fields it compares and
// preserves), plus helpers to read it relative to a directory fd without following symlinks.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace lmover {

enum class EntryType : uint8_t { kRegular, kDirectory, kSymlink, kFifo, kSocket, kCharDevice, kBlockDevice };

struct EntryMeta {
  EntryType type = EntryType::kRegular;
  mode_t perm = 0;  // permission bits incl. setuid/setgid/sticky (07777)
  uid_t uid = 0;
  gid_t gid = 0;
  off_t size = 0;
  blkcnt_t blocks = 0;  // 512-byte blocks allocated: tells a sparse file
  nlink_t nlink = 1;
  dev_t dev = 0;
  ino_t ino = 0;
  dev_t rdev = 0;
  timespec atime{};
  timespec mtime{};
  timespec ctime{};

  static EntryMeta from_stat(const struct stat& st);
  mode_t type_bits() const;
};

bool same_time(const timespec& a, const timespec& b);
bool newer(const timespec& a, const timespec& b);

// fstatat(dir_fd, name, AT_SYMLINK_NOFOLLOW). `rel` names the entry in errors.
EntryMeta stat_at(int dir_fd, const char* name, std::string_view rel);
// Same, but ENOENT (and ENOTDIR) yields nullopt instead of an error.
std::optional<EntryMeta> stat_if_exists(int dir_fd, const char* name, std::string_view rel);
EntryMeta stat_fd(int fd, std::string_view rel);
// The entry open (or pinned) at `fd` looked at again, to compare with an earlier stat: every field
// but the atime, which is left zero. Reading a file moves its atime, and a client that drops its
// cached atime on every read (FUSE) would otherwise ask the server for all the rest again; Lustre
// glimpses size and mtime under the locks the read holds either way.
EntryMeta restat_fd(int fd, std::string_view rel);

// "a/b" + "c" = "a/b/c"; "" is the root.
std::string join_rel(std::string_view dir, std::string_view name);

}  // namespace lmover
