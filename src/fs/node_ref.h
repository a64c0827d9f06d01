// NodeRef: how to reach one entry for metadata calls without following a symlink: its parent
// directory fd and name, plus an fd of the entry itself when one is open (regular files and
// directories). Calls that have no *at/NOFOLLOW form go through the parent fd's /proc magic link,
// which pins the parent and looks the name up without following it.
#pragma once

#include <string>
#include <string_view>

namespace lmover {

struct NodeRef {
  int dir_fd;
  const char* name;
  std::string_view rel;  // for error messages
  int fd = -1;           // the entry itself, if open (O_RDONLY/O_WRONLY, not O_PATH)
  // The entry pinned with O_PATH (pin_entry, any type), if it is: calls that take a path go through
  // its magic link, which lands on that very inode, a symlink included, and follows nothing
  // further. Costs no lookup by name, which on Lustre or NFS can be a round trip.
  int pinned = -1;

  // "/proc/self/fd/<dir_fd>/<name>"
  std::string proc_path() const { return "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name; }
  // "/proc/self/fd/<pinned>"
  std::string pinned_path() const { return "/proc/self/fd/" + std::to_string(pinned); }
};

}  // namespace lmover
