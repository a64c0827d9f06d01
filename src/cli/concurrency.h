// How many tasks in flight a pass should have when the admin did not say (-j): the cores while
// both roots are local, but on a filesystem where each metadata call is a round trip (Lustre, NFS,
// FUSE...) enough requests in flight to hide it. Measured with a 200 us delay layer in front of
// the source, 20k files, 2 cores: 2 threads 10.6 s, 8 2.8 s, 32 1.56 s, 128 1.57 s
// (bench/latency.sh).
#pragma once

#include <string>

namespace lmover {

struct Concurrency {
  unsigned threads;
  std::string why;  // for -v
};

// `src_fd`/`dst_fd` may be -1 (a target not created yet). Throws FsError if statfs fails.
Concurrency default_concurrency(int src_fd, const std::string& src, int dst_fd, const std::string& dst, unsigned cores);

}  // namespace lmover
