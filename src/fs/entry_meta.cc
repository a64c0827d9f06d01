#include "fs/entry_meta.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>

#include "fs/fs_error.h"

namespace lmover {

static EntryType type_of(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFDIR: return EntryType::kDirectory;
    case S_IFLNK: return EntryType::kSymlink;
    case S_IFIFO: return EntryType::kFifo;
    case S_IFSOCK: return EntryType::kSocket;
    case S_IFCHR: return EntryType::kCharDevice;
    case S_IFBLK: return EntryType::kBlockDevice;
    default: return EntryType::kRegular;
  }
}

mode_t EntryMeta::type_bits() const {
  switch (type) {
    case EntryType::kDirectory: return S_IFDIR;
    case EntryType::kSymlink: return S_IFLNK;
    case EntryType::kFifo: return S_IFIFO;
    case EntryType::kSocket: return S_IFSOCK;
    case EntryType::kCharDevice: return S_IFCHR;
    case EntryType::kBlockDevice: return S_IFBLK;
    case EntryType::kRegular: break;
  }
  return S_IFREG;
}

EntryMeta EntryMeta::from_stat(const struct stat& st) {
  EntryMeta m;
  m.type = type_of(st.st_mode);
  m.perm = st.st_mode & 07777;
  m.uid = st.st_uid;
  m.gid = st.st_gid;
  m.size = st.st_size;
  m.blocks = st.st_blocks;
  m.nlink = st.st_nlink;
  m.dev = st.st_dev;
  m.ino = st.st_ino;
  m.rdev = st.st_rdev;
  m.atime = st.st_atim;
  m.mtime = st.st_mtim;
  m.ctime = st.st_ctim;
  return m;
}

bool same_time(const timespec& a, const timespec& b) { return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec; }

bool newer(const timespec& a, const timespec& b) {
  return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

EntryMeta stat_at(int dir_fd, const char* name, std::string_view rel) {
  struct stat st;
  check(fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW), "stat", rel);
  return EntryMeta::from_stat(st);
}

std::optional<EntryMeta> stat_if_exists(int dir_fd, const char* name, std::string_view rel) {
  struct stat st;
  if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) return EntryMeta::from_stat(st);
  if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
  throw FsError("stat", rel, errno);
}

EntryMeta stat_fd(int fd, std::string_view rel) {
  struct stat st;
  check(fstat(fd, &st), "stat", rel);
  return EntryMeta::from_stat(st);
}

EntryMeta restat_fd(int fd, std::string_view rel) {
  struct statx stx {};
  constexpr unsigned kMask = STATX_BASIC_STATS & ~STATX_ATIME;
  check(statx(fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT, kMask, &stx), "stat", rel);
  EntryMeta m;
  m.type = type_of(stx.stx_mode);
  m.perm = stx.stx_mode & 07777;
  m.uid = stx.stx_uid;
  m.gid = stx.stx_gid;
  m.size = static_cast<off_t>(stx.stx_size);
  m.blocks = static_cast<blkcnt_t>(stx.stx_blocks);
  m.nlink = stx.stx_nlink;
  m.dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
  m.ino = stx.stx_ino;
  m.rdev = makedev(stx.stx_rdev_major, stx.stx_rdev_minor);
  m.mtime = timespec{stx.stx_mtime.tv_sec, stx.stx_mtime.tv_nsec};
  m.ctime = timespec{stx.stx_ctime.tv_sec, stx.stx_ctime.tv_nsec};
  return m;
}

std::string join_rel(std::string_view dir, std::string_view name) {
  std::string out;
  out.reserve(dir.size() + 1 + name.size());
  out.append(dir);
  if (!dir.empty()) out.push_back('/');
  out.append(name);
  return out;
}

}  // namespace lmover
