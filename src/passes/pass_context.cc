#include "passes/pass_context.h"

#include <fmt/format.h>

#include "fs/fs_error.h"

namespace lmover {

void PassContext::fail(const FsError& error) const {
  PassStats::add(stats_.errors);
  failures_.record(error);
}

void PassContext::note(std::string_view verb, std::string_view rel) const {
  if (!options_.dry_run && !options_.verbose) return;
  // One write per line keeps lines from different threads whole.
  std::string line = fmt::format("{}{} {}\n", options_.dry_run ? "would " : "", verb, printable(rel));
  std::fwrite(line.data(), 1, line.size(), stdout);
}

}  // namespace lmover
