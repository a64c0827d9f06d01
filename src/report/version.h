// Which lmover this is: the release (project() in CMakeLists.txt) and the git commit it was built
// from, for --version, the JSON summary, /metrics (lmover_build_info) and `control workers`, so
// that an admin with 200 data movers can tell which build runs where.
#pragma once

#include <string>

namespace lmover {

const char* lmover_version();  // "0.9.0"
const char* build_commit();    // "1a2b3c4d5e6f", with "-dirty" for a modified tree; "unknown" if not known
std::string version_line();    // "lmover 0.9.0 (commit 1a2b3c4d5e6f)"

}  // namespace lmover
