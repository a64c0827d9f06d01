#include "fs/project_id.h"

#include <linux/fs.h>
#include <sys/ioctl.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "fs/fs_error.h"

namespace lmover {
namespace {

bool unsupported(int err) { return err == ENOTTY || err == EOPNOTSUPP || err == EINVAL; }

std::atomic<bool> g_warned{false};

// The filesystems (st_dev) that answered "no project ids", read without a lock on every entry. A
// run meets a handful; past kSlots they are asked each time, as before.
class FilesystemsWithout {
 public:
  bool contains(dev_t dev) const {
    for (const auto& slot : slots_) {
      uint64_t held = slot.load(std::memory_order_acquire);
      if (held == 0) return false;
      if (held == key(dev)) return true;
    }
    return false;
  }
  void add(dev_t dev) {
    for (auto& slot : slots_) {
      uint64_t held = 0;
      if (slot.compare_exchange_strong(held, key(dev)) || held == key(dev)) return;
    }
  }

 private:
  static constexpr int kSlots = 16;
  static uint64_t key(dev_t dev) { return static_cast<uint64_t>(dev) + 1; }  // 0: an empty slot
  std::array<std::atomic<uint64_t>, kSlots> slots_{};
};

FilesystemsWithout g_without_project_ids;

}  // namespace

std::optional<ProjectId> read_project_id(int fd, dev_t dev, std::string_view rel) {
  if (g_without_project_ids.contains(dev)) return std::nullopt;
  fsxattr fsx{};
  if (ioctl(fd, FS_IOC_FSGETXATTR, &fsx) < 0) {
    if (unsupported(errno)) {
      g_without_project_ids.add(dev);
      return std::nullopt;
    }
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
