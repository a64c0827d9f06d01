#include "fs/fs_identity.h"

#include <gtest/gtest.h>

namespace lmover {
namespace {

TEST(LatencyBound, NetworkAndFuseFilesystemsAreLocalOnesAreNot) {
  for (uint64_t magic : {0x0BD00BD0ull /* lustre */, 0x6969ull /* nfs */, 0x65735546ull /* fuse */,
                         0x47504653ull /* gpfs */, 0x00C36400ull /* ceph */, 0x19830326ull /* beegfs */}) {
    EXPECT_TRUE(latency_bound(magic)) << fs_type_name(magic);
  }
  for (uint64_t magic : {0xEF53ull /* ext4 */, 0x58465342ull /* xfs */, 0x01021994ull /* tmpfs */,
                         0x9123683Eull /* btrfs */, 0x2FC12FC1ull /* zfs */}) {
    EXPECT_FALSE(latency_bound(magic)) << fs_type_name(magic);
  }
}

}  // namespace
}  // namespace lmover
