// The passes, one row each (as ninja's tools table): a pass's name, whether it writes the target,
// its help line, and how to make its handler: each row is also a verb of the command line. The run side (cli/) and the workers find a pass here and nowhere
// else; a new pass adds its own files, a row, and its sources to CMakeLists.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "passes/pass.h"
#include "passes/pass_context.h"

namespace lmover {

enum class PassKind { kCopy, kDelete, kDirtime, kVerify };

struct PassInfo {
  PassKind kind;
  const char* name;
  bool writes;  // writes to the target (a dry run aside): the run takes the target's lock
  const char* help;  // the verb's line in `lmover --help`
  std::unique_ptr<Pass> (*make)(const PassContext& ctx);
};

const std::vector<PassInfo>& all_passes();
const PassInfo& pass_info(PassKind kind);
const PassInfo& pass_info(const std::string& name);  // throws std::invalid_argument
const PassInfo* find_pass(const std::string& name);  // nullptr: no such pass

inline const char* pass_name(PassKind kind) { return pass_info(kind).name; }
inline PassKind pass_kind(const std::string& name) { return pass_info(name).kind; }
inline std::unique_ptr<Pass> make_pass(PassKind kind, const PassContext& ctx) { return pass_info(kind).make(ctx); }

}  // namespace lmover
