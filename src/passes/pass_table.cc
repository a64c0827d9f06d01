#include "passes/pass_table.h"

#include <stdexcept>

#include "passes/copy_pass.h"
#include "passes/delete_pass.h"
#include "passes/dirtime_pass.h"
#include "passes/verify_pass.h"

namespace lmover {
namespace {

template <typename P>
std::unique_ptr<Pass> make(const PassContext& ctx) {
  return std::make_unique<P>(ctx);
}

}  // namespace

const std::vector<PassInfo>& all_passes() {
  static const std::vector<PassInfo> table = {
      {PassKind::kCopy, "copy", true, "create missing dirs, copy new and changed entries with all metadata",
       make<CopyPass>},
      {PassKind::kDelete, "delete", true, "remove from DST what is no longer in SRC", make<DeletePass>},
      {PassKind::kDirtime, "dirtime", true, "set DST directory atime/mtime from SRC (run last)", make<DirtimePass>},
      {PassKind::kVerify, "verify", false,
       "compare SRC and DST by everything a copy makes equal (--content: data too); exit 1 if they differ",
       make<VerifyPass>},
  };
  return table;
}

const PassInfo& pass_info(PassKind kind) {
  for (const PassInfo& p : all_passes()) {
    if (p.kind == kind) return p;
  }
  throw std::invalid_argument("unknown pass kind");
}

const PassInfo* find_pass(const std::string& name) {
  for (const PassInfo& p : all_passes()) {
    if (name == p.name) return &p;
  }
  return nullptr;
}

const PassInfo& pass_info(const std::string& name) {
  if (const PassInfo* p = find_pass(name)) return *p;
  throw std::invalid_argument("unknown pass '" + name + "'");
}

}  // namespace lmover
