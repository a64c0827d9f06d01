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

  // "/proc/self/fd/<dir_fd>/<name>"
  std::string proc_path() const { return "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name; }
};

}  // namespace lmover
