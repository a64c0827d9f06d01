// VerifyPass (`lmover verify`): compares the two trees by everything the copy pass makes equal,
// without changing either: entries missing or extra on the target, type, size, mode, owner, mtime
// (ns), symlink target, device numbers, xattrs and ACLs, link counts, holes, and with --content the data
// itself (XXH3-128 of both files; a file from --chunk-threshold on in chunk tasks, like the copy). Each difference is logged with its class, listed (--failures)
// and counted (`differences`); the run exits 1 when there is any. Filters and excludes apply as in
// the passes; atimes are not compared (reading a file changes them).
#pragma once

#include "engine/task.h"
#include "passes/pass.h"
#include "passes/dir_pair.h"
#include "passes/pass_context.h"

namespace lmover {

class VerifyPass : public Pass {
 public:
  explicit VerifyPass(const PassContext& ctx) : ctx_(ctx) {}
  void handle(const Task& task, TaskSink& sink) override;

 private:
  void compare_directory(const Task& task, TaskSink& sink);
  // Compares entry `name` present on both sides (a big file's data in chunk tasks, children of
  // `task`); returns true if it is a directory on both.
  bool compare_entry(const DirPair& dirs, const char* name, const std::string& rel, const Task& task, TaskSink& sink);
  std::vector<std::string> metadata_differences(const DirPair& dirs, const char* name, const std::string& rel,
                                                const EntryMeta& src, const EntryMeta& dst) const;
  void compare_chunk(const Task& task);

  const PassContext& ctx_;
};

}  // namespace lmover
