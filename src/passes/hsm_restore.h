// --hsm restore: before the entries of one task are copied, the HSM-released source files among
// them that the copy is going to read are restored from the archive, in requests of at most
// --hsm-batch files, and waited for; the copy then reads them as any other file. Only those the
// change rule sends to a copy: an unchanged released file is never brought back. One that does not
// come back in time is deferred by its copy (copy_regular).
#pragma once

#include <string>
#include <vector>

#include "engine/task.h"
#include "passes/dir_pair.h"
#include "passes/pass_context.h"

namespace lmover {

void restore_ahead(const PassContext& ctx, const DirPair& dirs, const Task& task, const std::vector<std::string>& names);

}  // namespace lmover
