#include "passes/pass_context.h"

#include <cerrno>
#include <string>

#include <fmt/format.h>

#include "engine/give_up.h"
#include "fs/fs_error.h"
#include "fs/resolve.h"
#include "report/stdout_lines.h"

namespace lmover {

void PassContext::fail(const FsError& error) const {
  PassStats::add(dynamic_cast<const HsmDeferred*>(&error) ? stats_.hsm_deferred : stats_.errors);
  failures_.record(error);
}

void PassContext::fail_unless_vanished(const FsError& error) const {
  if ((error.err() == ENOENT || error.err() == ENOTDIR) && !source_exists(error.path())) {
    PassStats::add(stats_.vanished);
    return;
  }
  fail(error);
}

bool PassContext::source_exists(std::string_view rel) const {
  int err = 0;
  return stat_beneath(src_root_, rel, &err) || (err != ENOENT && err != ENOTDIR);
}

void PassContext::differ(std::string_view rel, std::string_view what) const {
  PassStats::add(stats_.differences);
  failures_.record(FsError("differs", rel.empty() ? "." : rel, what));
}

void PassContext::note(std::string_view verb, std::string_view rel) const {
  give_up_point();  // every write of a pass is noted first: a task no longer ours stops here
  if (!options_.dry_run && !options_.verbose) return;
  // One write per line keeps lines from different threads whole.
  std::string line = fmt::format("{}{} {}\n", options_.dry_run ? "would " : "", verb, printable(rel));
  print_line(line);
}

}  // namespace lmover
