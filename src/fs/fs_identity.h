// FsIdentity: how one node sees a pass root, in terms another node can compare: the filesystem's
// type and id (statfs) and the root directory's inode number. st_dev is left out on purpose: it is
// a per-node number for Lustre, NFS and FUSE. A node whose mount failed sees the bare mount-point
// directory underneath instead, which differs in type, id or inode, so a worker can tell that it
// must not act on a run (an empty-looking source would make a delete wipe the target).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lmover {

struct FsIdentity {
  uint64_t fs_type = 0;  // statfs f_type (magic number)
  uint64_t fs_id = 0;    // statfs f_fsid, both halves
  uint64_t root_ino = 0;

  bool operator==(const FsIdentity&) const = default;
};

// The identity of the directory open at `dir_fd`; `path` names it in errors (FsError).
FsIdentity identify_root(int dir_fd, std::string_view path);

// "tmpfs (0x1021994), fs id 6d1c..., root inode 1": for messages to a human.
std::string describe(const FsIdentity& id);

// Filesystems where every metadata call is a round trip to a server (Lustre, NFS, GPFS, CephFS,
// BeeGFS, PanFS, AFS, 9p, CIFS/SMB) or to a user-space daemon (FUSE): there a copy's speed is
// requests in flight x latency, not cores. By statfs f_type.
bool latency_bound(uint64_t fs_type);
// Lustre's LL_SUPER_MAGIC.
inline constexpr uint64_t kLustreMagic = 0x0BD00BD0;

// A short name for the messages: "lustre", "nfs", "ext4", ..., or "filesystem" when unknown.
const char* fs_type_name(uint64_t fs_type);

}  // namespace lmover
