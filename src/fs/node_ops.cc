#include "fs/node_ops.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <random>

#include <fmt/format.h>

#include "fs/fs_error.h"

namespace lmover {
namespace {

constexpr std::string_view kTempPrefix = ".lmover-tmp-";

// chmod without following: regular files and dirs have an fd; symlinks have no mode on Linux;
// FIFOs, sockets and devices are pinned with O_PATH and changed through their /proc magic link.
void set_mode(const NodeRef& dst, const EntryMeta& src) {
  if (dst.fd >= 0) {
    check(fchmod(dst.fd, src.perm), "chmod", dst.rel);
    return;
  }
  if (src.type == EntryType::kSymlink) return;
  UniqueFd pinned(openat(dst.dir_fd, dst.name, O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!pinned.valid()) throw FsError("chmod", dst.rel, errno);
  EntryMeta now = stat_fd(pinned.get(), dst.rel);
  if (now.type != src.type) throw FsError("chmod", dst.rel, "entry changed type under us");
  std::string magic = "/proc/self/fd/" + std::to_string(pinned.get());
  check(chmod(magic.c_str(), src.perm), "chmod", dst.rel);
}

}  // namespace

const std::vector<gid_t>& own_groups() {
  static const std::vector<gid_t> groups = [] {
    std::vector<gid_t> out(static_cast<size_t>(std::max(0, getgroups(0, nullptr))));
    out.resize(static_cast<size_t>(std::max(0, getgroups(static_cast<int>(out.size()), out.data()))));
    out.push_back(getegid());
    return out;
  }();
  return groups;
}

bool apply_times(const NodeRef& dst, const EntryMeta& src, const EntryMeta* current) {
  if (current && same_time(current->atime, src.atime) && same_time(current->mtime, src.mtime)) return false;
  const timespec times[2] = {src.atime, src.mtime};
  if (dst.fd >= 0) {
    check(futimens(dst.fd, times), "set times", dst.rel);
  } else {
    check(utimensat(dst.dir_fd, dst.name, times, AT_SYMLINK_NOFOLLOW), "set times", dst.rel);
  }
  return true;
}

bool apply_metadata(const NodeRef& dst, const EntryMeta& src, const XattrList& xattrs, const EntryMeta* current,
                    const MetadataPlan& plan) {
  bool skip_xattrs = !plan.xattrs || (plan.new_without_inherited_xattrs && !current && xattrs.empty());
  bool wrote = !skip_xattrs && sync_xattrs(dst, xattrs, src.type == EntryType::kRegular ? kCapabilityXattr : "");
  bool owner_differs = !current || current->uid != src.uid || current->gid != src.gid;
  // Without privilege only the group can be given, and only one of our own.
  const auto& groups = own_groups();
  bool group_only = !plan.owner && (!current || current->gid != src.gid) &&
                    std::find(groups.begin(), groups.end(), src.gid) != groups.end();
  if ((plan.owner && owner_differs) || group_only) {
    uid_t uid = plan.owner ? src.uid : static_cast<uid_t>(-1);
    if (dst.fd >= 0) {
      check(fchown(dst.fd, uid, src.gid), "chown", dst.rel);
    } else {
      check(fchownat(dst.dir_fd, dst.name, uid, src.gid, AT_SYMLINK_NOFOLLOW), "chown", dst.rel);
    }
    wrote = true;
  }
  // chown may have cleared setuid/setgid, so the mode is set again whenever the owner was.
  if (src.type != EntryType::kSymlink && (!current || current->perm != src.perm || (plan.owner && owner_differs) || group_only)) {
    set_mode(dst, src);
    wrote = true;
  }
  // Capabilities last but for the times: chown (and any write of data) has cleared them.
  if (!skip_xattrs && src.type == EntryType::kRegular && sync_one_xattr(dst, xattrs, kCapabilityXattr)) wrote = true;
  if (plan.times && apply_times(dst, src, current)) wrote = true;
  return wrote;
}

void unsettle_other_names(int dir_fd, const char* name, std::string_view rel) {
  if (auto meta = stat_if_exists(dir_fd, name, rel)) unsettle_other_names(dir_fd, name, *meta, rel);
}

void unsettle_other_names(int dir_fd, const char* name, const EntryMeta& meta, std::string_view rel) {
  if (meta.type != EntryType::kRegular || meta.nlink < 2) return;
  UniqueFd fd(openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return;  // gone meanwhile: nothing to unlink either
  nudge_mtime(NodeRef{dir_fd, name, rel, fd.get()}, meta);
}

void nudge_mtime(const NodeRef& node, const EntryMeta& meta) {
  EntryMeta moved = meta;
  if (++moved.mtime.tv_nsec == 1000000000) {
    moved.mtime.tv_nsec = 0;
    ++moved.mtime.tv_sec;
  }
  apply_times(node, moved, nullptr);
}

UniqueFd create_file(int dir_fd, const char* name, std::string_view rel) {
  int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) throw FsError("create", rel, errno);
  return UniqueFd(fd);
}

void create_special(int dir_fd, const char* name, const EntryMeta& src, const std::string& link_target,
                    std::string_view rel) {
  if (src.type == EntryType::kSymlink) {
    check(symlinkat(link_target.c_str(), dir_fd, name), "symlink", rel);
    return;
  }
  check(mknodat(dir_fd, name, src.type_bits() | 0600, src.rdev), "mknod", rel);
}

void create_dir(int dir_fd, const char* name, std::string_view rel) { check(mkdirat(dir_fd, name, 0700), "mkdir", rel); }

std::string read_link(int dir_fd, const char* name, std::string_view rel) {
  std::string buf(256, '\0');
  for (;;) {
    ssize_t n = readlinkat(dir_fd, name, buf.data(), buf.size());
    if (n < 0) throw FsError("readlink", rel, errno);
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    buf.resize(buf.size() * 4);
  }
}

std::string temp_name() {
  thread_local std::mt19937_64 rng(std::random_device{}() ^ static_cast<uint64_t>(gettid()));
  return fmt::format("{}{:016x}", kTempPrefix, rng());
}

void rename_into_place(int dir_fd, const std::string& staged, const char* name, std::string_view rel) {
  if (renameat(dir_fd, staged.c_str(), dir_fd, name) == 0) return;
  int err = errno;
  unlinkat(dir_fd, staged.c_str(), 0);
  throw FsError("rename into place", rel, err);
}


}  // namespace lmover
