// The test oracle: compares two trees attribute by attribute and returns every difference found.
// Written with plain POSIX calls, independent of lmover's own fs layer, so a bug there cannot hide
// itself. Compares type, content (bytes and hole layout), mode, uid, gid, size, atime/mtime in ns,
// rdev, symlink targets, every xattr (POSIX ACLs included) and the hard-link structure.
#pragma once

#include <string>
#include <vector>

namespace lmover::test {

struct OracleOptions {
  bool dir_times = true;  // false between a copy and its dirtime pass
  bool holes = true;      // the target must not use more blocks than the source
  bool xattrs = true;     // false (--no-xattrs): the target must have none at all
  // xattrs left out on both sides: the fake liblustreapi's stand-ins for what Lustre keeps itself
  // (trusted.lov, trusted.lmv, trusted.hsm), which a real client never lists as user xattrs, and
  // the data version lmover keeps on a Lustre target (trusted.lmover.dv).
  std::vector<std::string> ignored_xattrs;
};

std::vector<std::string> compare_trees(const std::string& src, const std::string& dst, const OracleOptions& options = {});

// Every entry's ctime (ns) below root, by relative path: to prove a re-run changed nothing.
std::vector<std::pair<std::string, long long>> ctimes(const std::string& root);

}  // namespace lmover::test
