#include "fs/xattrs.h"

#include <sched.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "fs/fs_error.h"

namespace lmover {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Names are reached from their directory fd. Linux before 6.13 has no *xattrat calls, and the
// /proc/self/fd/N/name path costs three lookups in procfs before the name's own: on a no-op pass
// that compares xattrs of both trees it was most of the pass (3.9 us a call against 1.1 us
// relative to the cwd, tmpfs). So a worker thread takes a cwd of its own (unshare(CLONE_FS): cwd,
// root and umask become per thread) and changes into the entry's directory, and the call names
// the entry by its single component, which the l*xattr calls never follow if it is a symlink.
// The main thread keeps the process's cwd (relative --json and --failures paths depend on it)
// and goes through /proc.
class NameCall {
 public:
  explicit NameCall(const NodeRef& n) : n_(n) {
    thread_local const bool own_cwd = gettid() != getpid() && unshare(CLONE_FS) == 0;
    relative_ = own_cwd && n.dir_fd >= 0 && !std::strchr(n.name, '/') && fchdir(n.dir_fd) == 0;
    if (!relative_) path_ = n.proc_path();
  }
  const char* path() const { return relative_ ? n_.name : path_.c_str(); }

 private:
  const NodeRef& n_;
  bool relative_ = false;
  std::string path_;
};

// Through a pinned entry's magic link the following calls (listxattr, not llistxattr) are the
// ones that reach the pinned inode: the l* calls would act on the /proc link itself.
ssize_t do_list(const NodeRef& n, char* buf, size_t size) {
  if (n.fd >= 0) return flistxattr(n.fd, buf, size);
  if (n.pinned >= 0) return listxattr(n.pinned_path().c_str(), buf, size);
  return llistxattr(NameCall(n).path(), buf, size);
}

ssize_t do_get(const NodeRef& n, const char* key, char* buf, size_t size) {
  if (n.fd >= 0) return fgetxattr(n.fd, key, buf, size);
  if (n.pinned >= 0) return getxattr(n.pinned_path().c_str(), key, buf, size);
  return lgetxattr(NameCall(n).path(), key, buf, size);
}

int do_set(const NodeRef& n, const std::string& key, const std::string& value) {
  if (n.fd >= 0) return fsetxattr(n.fd, key.c_str(), value.data(), value.size(), 0);
  if (n.pinned >= 0) return setxattr(n.pinned_path().c_str(), key.c_str(), value.data(), value.size(), 0);
  return lsetxattr(NameCall(n).path(), key.c_str(), value.data(), value.size(), 0);
}

int do_remove(const NodeRef& n, const std::string& key) {
  if (n.fd >= 0) return fremovexattr(n.fd, key.c_str());
  if (n.pinned >= 0) return removexattr(n.pinned_path().c_str(), key.c_str());
  return lremovexattr(NameCall(n).path(), key.c_str());
}

// The size can change between the sizing call and the reading call on a live tree: retry on ERANGE.
template <typename Fn>
std::string read_sized(Fn call, std::string_view op, std::string_view rel) {
  std::string buf(256, '\0');
  for (int attempt = 0; attempt < 8; ++attempt) {
    ssize_t n = call(buf.data(), buf.size());
    if (n >= 0) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    if (errno != ERANGE) throw FsError(op, rel, errno);
    ssize_t need = call(nullptr, 0);
    if (need < 0) throw FsError(op, rel, errno);
    buf.assign(static_cast<size_t>(need) + 64, '\0');
  }
  throw FsError(op, rel, ERANGE);
}

}  // namespace

bool is_filesystem_internal_xattr(std::string_view name) {
  return starts_with(name, "lustre.") || name == "trusted.lov" || name == "trusted.lma" ||
         name == "trusted.link" || name == "trusted.som" || name == "trusted.hsm" || name == "trusted.lmv" ||
         name == "trusted.dmv" || name == "trusted.fid" || name == "trusted.lmover.dv";
}

std::vector<std::string> list_xattr_names(const NodeRef& node) {
  std::vector<std::string> out;
  std::string names;
  try {
    names = read_sized([&](char* b, size_t s) { return do_list(node, b, s); }, "list xattrs", node.rel);
  } catch (const FsError& e) {
    if (e.err() == ENOTSUP) return out;
    throw;
  }
  for (size_t pos = 0; pos < names.size();) {
    std::string key(names.c_str() + pos);
    pos += key.size() + 1;
    if (!key.empty()) out.push_back(std::move(key));
  }
  return out;
}

XattrList read_xattrs(const NodeRef& node) {
  XattrList out;
  for (std::string& key : list_xattr_names(node)) {
    if (is_filesystem_internal_xattr(key)) continue;
    try {
      std::string value =
          read_sized([&](char* b, size_t s) { return do_get(node, key.c_str(), b, s); }, "get xattr " + key, node.rel);
      out.emplace_back(std::move(key), std::move(value));
    } catch (const FsError& e) {
      if (e.err() != ENODATA) throw;  // removed while we read: it is simply gone
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool sync_xattrs(const NodeRef& node, const XattrList& wanted, std::string_view except) {
  XattrList have = read_xattrs(node);
  bool wrote = false;
  for (const auto& [key, value] : have) {
    if (key == except) continue;
    auto it = std::lower_bound(wanted.begin(), wanted.end(), std::make_pair(key, std::string()),
                               [](const auto& a, const auto& b) { return a.first < b.first; });
    if (it != wanted.end() && it->first == key) continue;
    if (do_remove(node, key) < 0 && errno != ENODATA) throw FsError("remove xattr " + key, node.rel, errno);
    wrote = true;
  }
  for (const auto& entry : wanted) {
    if (entry.first == except) continue;
    auto it = std::lower_bound(have.begin(), have.end(), entry);
    if (it != have.end() && *it == entry) continue;
    if (do_set(node, entry.first, entry.second) < 0) throw FsError("set xattr " + entry.first, node.rel, errno);
    wrote = true;
  }
  return wrote;
}

bool sync_one_xattr(const NodeRef& node, const XattrList& wanted, const std::string& key) {
  auto want = std::find_if(wanted.begin(), wanted.end(), [&](const auto& e) { return e.first == key; });
  std::optional<std::string> have;
  try {
    have = read_sized([&](char* b, size_t s) { return do_get(node, key.c_str(), b, s); }, "get xattr " + key, node.rel);
  } catch (const FsError& e) {
    if (e.err() != ENODATA && e.err() != ENOTSUP) throw;
  }
  if (want == wanted.end()) {
    if (!have) return false;
    if (do_remove(node, key) < 0 && errno != ENODATA) throw FsError("remove xattr " + key, node.rel, errno);
    return true;
  }
  if (have == want->second) return false;
  if (do_set(node, key, want->second) < 0) throw FsError("set xattr " + key, node.rel, errno);
  return true;
}

}  // namespace lmover
