#include "cli/roots.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fs/dir_reader.h"
#include "fs/fs_error.h"
#include "fs/resolve.h"

namespace lmover {
namespace {

bool same_inode(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

struct stat stat_of(int fd, const std::string& path) {
  struct stat st;
  if (fstat(fd, &st) < 0) throw FsError("stat", path, errno);
  return st;
}

// True if the directory `inner` is `outer` or lies below it: climbs ".." from `inner` to "/".
bool is_within(int inner, const struct stat& outer, const std::string& inner_path) {
  UniqueFd current(dup(inner));
  struct stat st = stat_of(current.get(), inner_path);
  for (;;) {
    if (same_inode(st, outer)) return true;
    UniqueFd parent(openat(current.get(), "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!parent.valid()) throw FsError("open parent of", inner_path, errno);
    struct stat pst = stat_of(parent.get(), inner_path);
    if (same_inode(pst, st)) return false;  // reached "/"
    current = std::move(parent);
    st = pst;
  }
}

bool is_empty_dir(int fd, const std::string& path) {
  DirReader reader(fd, path);
  DirEntry e;
  return !reader.next(e);
}

// "tgt/new/" (rsync's habit) is "tgt/new": a path to create is judged by its parent, which a
// trailing slash would make the path itself. "/" stays.
std::string without_trailing_slashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

}  // namespace

Roots open_roots(const std::string& src_arg, const std::string& dst_arg, const RootCheck& check) {
  const std::string src = without_trailing_slashes(src_arg), dst = without_trailing_slashes(dst_arg);
  Roots roots{src, dst, {}, {}};
  {
    int fd = open(src.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw FsError("source", src, errno == ENOTDIR ? "not a directory" : std::strerror(errno));
    roots.src.reset(fd);
  }
  struct stat s = stat_of(roots.src.get(), src);
  int fd = open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && (check.create_dst || check.dst_may_be_missing)) {
    // Judge where DST would be before creating anything: never write inside SRC.
    size_t slash = dst.find_last_of('/');
    std::string parent = slash == std::string::npos ? std::string(".") : slash == 0 ? std::string("/") : dst.substr(0, slash);
    UniqueFd parent_fd(open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!parent_fd.valid()) throw FsError("target", dst, std::string("parent: ") + std::strerror(errno));
    if (is_within(parent_fd.get(), s, parent)) throw FsError("target", dst, "lies inside the source " + src);
    if (check.dst_may_be_missing) return roots;
    if (mkdir(dst.c_str(), 0700) < 0) throw FsError("create target", dst, errno);
    fd = open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  if (fd < 0) throw FsError("target", dst, errno == ENOTDIR ? "not a directory" : std::strerror(errno));
  roots.dst.reset(fd);
  // Said with DST's path before anything is tried: otherwise the first failure is the root's own
  // metadata, whose path relative to DST is "" ("chmod '': Read-only file system").
  struct statvfs vfs;
  if (check.dst_written && fstatvfs(roots.dst.get(), &vfs) == 0 && (vfs.f_flag & ST_RDONLY)) {
    throw FsError("target", dst, std::string(std::strerror(EROFS)) + " (mounted read-only)");
  }

  check_root_pair(roots, check.refuse_empty_source);
  return roots;
}

void check_root_pair(const Roots& roots, bool refuse_empty_source) {
  const std::string& src = roots.src_path;
  const std::string& dst = roots.dst_path;
  struct stat s = stat_of(roots.src.get(), src);
  struct stat d = stat_of(roots.dst.get(), dst);
  if (same_inode(s, d)) throw FsError("target", dst, "is the same directory as the source");
  if (is_within(roots.dst.get(), s, dst)) throw FsError("target", dst, "lies inside the source " + src);
  if (is_within(roots.src.get(), d, src)) throw FsError("source", src, "lies inside the target " + dst);
  if (refuse_empty_source && is_empty_dir(roots.src.get(), src) && !is_empty_dir(roots.dst.get(), dst)) {
    throw FsError("source", src,
                  "is empty but the target is not (an unmounted filesystem?); refusing to delete; "
                  "pass --allow-empty-source if this is really wanted");
  }
}

}  // namespace lmover
