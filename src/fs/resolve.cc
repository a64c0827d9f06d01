#include "fs/resolve.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>

#include "fs/fs_error.h"

namespace lmover {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

// O_NOATIME is refused (EPERM) on entries we do not own unless we hold CAP_FOWNER; once refused
// it is dropped for the rest of the run.
std::atomic<bool> g_noatime_allowed{true};

int flags_now() { return kDirFlags | (g_noatime_allowed.load(std::memory_order_relaxed) ? O_NOATIME : 0); }

std::atomic<bool> g_openat2_works{true};

// `path_only`: O_PATH, a lookup without an open (the only flags openat2 takes with it).
int openat2_beneath(int root_fd, const std::string& rel, bool path_only = false) {
  open_how how{};
  how.flags = path_only ? static_cast<uint64_t>(O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                        : static_cast<uint64_t>(flags_now());
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how));
  if (fd < 0 && errno == EPERM && g_noatime_allowed.exchange(false)) {
    how.flags = kDirFlags;
    fd = static_cast<int>(syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how));
  }
  return fd;
}

// The fallback: one component at a time, each opened O_NOFOLLOW relative to its parent fd.
UniqueFd open_by_components(int root_fd, std::string_view rel, int flags = kDirFlags) {
  UniqueFd current(check(openat_noatime(root_fd, ".", flags), "open", rel));
  size_t pos = 0;
  while (pos < rel.size()) {
    size_t slash = rel.find('/', pos);
    if (slash == std::string_view::npos) slash = rel.size();
    std::string component(rel.substr(pos, slash - pos));
    pos = slash + 1;
    if (component.empty() || component == ".") continue;
    if (component == "..") throw FsError("open", rel, "path leaves the root");
    int fd = openat_noatime(current.get(), component.c_str(), flags);
    if (fd < 0) throw FsError("open", rel, errno);
    current.reset(fd);
  }
  return current;
}

}  // namespace

int openat_noatime(int dir_fd, const char* name, int flags) {
  int fd = openat(dir_fd, name, flags | (g_noatime_allowed.load(std::memory_order_relaxed) ? O_NOATIME : 0));
  if (fd < 0 && errno == EPERM && g_noatime_allowed.exchange(false)) fd = openat(dir_fd, name, flags);
  return fd;
}

UniqueFd open_dir_beneath(int root_fd, std::string_view rel) {
  if (rel.empty()) return UniqueFd(check(openat_noatime(root_fd, ".", kDirFlags), "open", rel));
  if (g_openat2_works.load(std::memory_order_relaxed) && rel.size() < PATH_MAX) {
    int fd = openat2_beneath(root_fd, std::string(rel));
    if (fd >= 0) return UniqueFd(fd);
    if (errno == ENOSYS || errno == E2BIG) {
      g_openat2_works = false;
    } else if (errno != ENAMETOOLONG) {
      throw FsError("open", rel, errno);
    }
  }
  return open_by_components(root_fd, rel);
}

UniqueFd lookup_dir_beneath(int root_fd, std::string_view rel) {
  constexpr int kPathFlags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  if (rel.empty()) return UniqueFd(check(openat(root_fd, ".", kPathFlags), "open", rel));
  if (g_openat2_works.load(std::memory_order_relaxed) && rel.size() < PATH_MAX) {
    int fd = openat2_beneath(root_fd, std::string(rel), true);
    if (fd >= 0) return UniqueFd(fd);
    if (errno == ENOSYS || errno == E2BIG) {
      g_openat2_works = false;
    } else if (errno != ENAMETOOLONG) {
      throw FsError("open", rel, errno);
    }
  }
  return open_by_components(root_fd, rel, kPathFlags);
}

std::optional<EntryMeta> stat_beneath(int root_fd, std::string_view rel, int* err) {
  size_t slash = rel.rfind('/');
  std::string_view parent = slash == std::string_view::npos ? std::string_view() : rel.substr(0, slash);
  std::string name(rel.empty() ? "." : slash == std::string_view::npos ? rel : rel.substr(slash + 1));
  try {
    UniqueFd dir;  // none where the parent is the root itself
    if (!parent.empty()) dir = lookup_dir_beneath(root_fd, parent);
    struct stat st;
    if (fstatat(dir.valid() ? dir.get() : root_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      return EntryMeta::from_stat(st);
    }
    *err = errno;
  } catch (const FsError& e) {
    *err = e.err();
  }
  return std::nullopt;
}

UniqueFd open_dir_at(int dir_fd, const char* name, std::string_view rel) {
  return UniqueFd(check(openat_noatime(dir_fd, name, kDirFlags), "open", rel));
}

UniqueFd open_dir_if_still_one(int dir_fd, const char* name, std::string_view rel, int* why) {
  int fd = openat_noatime(dir_fd, name, kDirFlags);
  if (fd >= 0) return UniqueFd(fd);
  if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP) throw FsError("open", rel, errno);
  *why = errno;
  return UniqueFd();
}

UniqueFd pin_entry(int dir_fd, const char* name, std::string_view rel) {
  int fd = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) return UniqueFd(fd);
  if (errno != ENOENT) throw FsError("look up", rel, errno);
  return UniqueFd();
}

int reopen_pinned(int pinned, int flags) {
  std::string magic = "/proc/self/fd/" + std::to_string(pinned);
  return openat_noatime(AT_FDCWD, magic.c_str(), flags);
}

UniqueFd open_root(const std::string& path) {
  // The root itself may be reached through symlinks the admin chose (e.g. /scratch -> /lustre/x).
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw FsError("open root", path, errno);
  return UniqueFd(fd);
}

}  // namespace lmover
