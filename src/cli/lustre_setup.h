// Whether a run goes through liblustreapi, decided once from --lustre and the roots' filesystems:
// `on` insists (a missing library fails the run), `auto` uses it when SRC or DST is on Lustre and
// says so in one notice line when it cannot, `off` never touches it.
#pragma once

#include <memory>
#include <string>

#include "lustre/lustre_target.h"

namespace lmover {

// nullptr: plain POSIX. Throws FsError (exit 2) when `on` and the library cannot be loaded.
std::shared_ptr<const LustreTarget> lustre_for_run(LustreSettings settings, int src_fd, const std::string& src,
                                                   int dst_fd, const std::string& dst);

}  // namespace lmover
