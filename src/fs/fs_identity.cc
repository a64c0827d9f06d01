#include "fs/fs_identity.h"

#include <sys/stat.h>
#include <sys/vfs.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "fs/fs_error.h"

namespace lmover {

// The filesystems a migration meets most; others are shown by their magic number only.
const char* fs_type_name(uint64_t magic) {
  switch (magic) {
    case 0xEF53: return "ext4";
    case 0x58465342: return "xfs";
    case 0x01021994: return "tmpfs";
    case 0x9123683E: return "btrfs";
    case 0x6969: return "nfs";
    case 0x0BD00BD0: return "lustre";
    case 0x47504653: return "gpfs";
    case 0x19830326: return "beegfs";
    case 0x00C36400: return "ceph";
    case 0x2FC12FC1: return "zfs";
    case 0x65735546: return "fuse";
    case 0x794C7630: return "overlay";
  }
  return "filesystem";
}

FsIdentity identify_root(int dir_fd, std::string_view path) {
  struct statfs fs;
  if (fstatfs(dir_fd, &fs) < 0) throw FsError("statfs", path, errno);
  struct stat st;
  if (fstat(dir_fd, &st) < 0) throw FsError("stat", path, errno);
  uint32_t halves[2];
  static_assert(sizeof halves == sizeof fs.f_fsid);
  std::memcpy(halves, &fs.f_fsid, sizeof halves);
  return FsIdentity{static_cast<uint64_t>(fs.f_type), (uint64_t(halves[0]) << 32) | halves[1],
                    static_cast<uint64_t>(st.st_ino)};
}

std::string describe(const FsIdentity& id) {
  return fmt::format("{} (0x{:x}), fs id {:016x}, root inode {}", fs_type_name(id.fs_type), id.fs_type, id.fs_id,
                     id.root_ino);
}

namespace {

// From linux/magic.h and the vendors' headers (Lustre's LL_SUPER_MAGIC, GPFS, BeeGFS, PanFS):
// Lustre, NFS, FUSE, GPFS, CephFS, BeeGFS, PanFS, AFS, 9p, CIFS, SMB2.
constexpr uint64_t kLatencyBound[] = {0x0BD00BD0, 0x6969,     0x65735546, 0x47504653, 0x00C36400, 0x19830326,
                                      0xAAD7AAEA, 0x5346414F, 0x01021997, 0xFF534D42, 0xFE534D42};

}  // namespace

bool latency_bound(uint64_t fs_type) {
  for (uint64_t magic : kLatencyBound) {
    if (magic == fs_type) return true;
  }
  return false;
}

}  // namespace lmover
