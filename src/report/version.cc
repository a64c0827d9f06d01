#include "report/version.h"

#include <fmt/format.h>

#include "build_commit.h"  // generated at build time: cmake/build_commit.cmake

namespace lmover {

const char* lmover_version() { return LMOVER_VERSION; }
const char* build_commit() { return LMOVER_GIT_COMMIT; }
std::string version_line() { return fmt::format("lmover {} (commit {})", lmover_version(), build_commit()); }

}  // namespace lmover
