// The name of this node, as messages, locks, metric keys and worker ids show it.
#pragma once

#include <string>

namespace lmover {

// gethostname(2); "unknown" when it fails.
std::string host_name();

}  // namespace lmover
