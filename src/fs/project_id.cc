#include "fs/project_id.h"

#include <linux/fs.h>
#include <sys/ioctl.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "fs/fs_error.h"

namespace lmover {
namespace {

bool unsupported(int err) { return err == ENOTTY || err == EOPNOTSUPP || err == EINVAL; }

std::atomic<bool> g_warned{false};

}  // namespace

std::optional<ProjectId> read_project_id(int fd, std::string_view rel) {
  fsxattr fsx{};
  if (ioctl(fd, FS_IOC_FSGETXATTR, &fsx) < 0) {
    if (unsupported(errno)) return std::nullopt;
    throw FsError("read project id", rel, errno);
  }
  return ProjectId{fsx.fsx_projid, (fsx.fsx_xflags & FS_XFLAG_PROJINHERIT) != 0};
}

bool sync_project_id(int fd, const ProjectId& wanted, std::string_view rel) {
  fsxattr fsx{};
  if (ioctl(fd, FS_IOC_FSGETXATTR, &fsx) < 0) {
    if (!unsupported(errno)) throw FsError("read project id", rel, errno);
    if (wanted == ProjectId{}) return false;
    fsx = fsxattr{};
    errno = EOPNOTSUPP;
  } else {
    ProjectId current{fsx.fsx_projid, (fsx.fsx_xflags & FS_XFLAG_PROJINHERIT) != 0};
    if (current == wanted) return false;
    fsx.fsx_projid = wanted.id;
    fsx.fsx_xflags = wanted.inherit ? (fsx.fsx_xflags | FS_XFLAG_PROJINHERIT) : (fsx.fsx_xflags & ~FS_XFLAG_PROJINHERIT);
    if (ioctl(fd, FS_IOC_FSSETXATTR, &fsx) == 0) return true;
  }
  int err = errno;
  if (!unsupported(err)) throw FsError("set project id", rel, err);
  if (!g_warned.exchange(true)) {
    spdlog::warn("the target filesystem cannot hold project ids ('{}': {}): they are not copied (said once)", rel,
                 std::strerror(err));
  }
  return false;
}

}  // namespace lmover
