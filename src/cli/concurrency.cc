#include "cli/concurrency.h"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

#include "fs/fs_identity.h"

namespace lmover {

Concurrency default_concurrency(int src_fd, const std::string& src, int dst_fd, const std::string& dst, unsigned cores) {
  constexpr unsigned kLatencyBoundThreads = 32, kLatencyBoundPerCore = 4;
  Concurrency c{cores, "SRC and DST are on local filesystems"};
  for (auto [fd, path, which] : {std::tuple{src_fd, &src, "SRC"}, {dst_fd, &dst, "DST"}}) {
    if (fd < 0) continue;
    uint64_t type = identify_root(fd, *path).fs_type;
    if (!latency_bound(type)) continue;
    c.threads = std::max(kLatencyBoundThreads, kLatencyBoundPerCore * cores);
    c.why = fmt::format("{} is on {}, where each metadata call is a round trip", which, fs_type_name(type));
    break;
  }
  return c;
}

}  // namespace lmover
