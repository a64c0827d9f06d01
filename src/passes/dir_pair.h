// DirPair: one directory opened on both sides of a pass, without following symlinks. In a dry run
// the target side may not exist yet.
//
// A directory task that has just looked at a child directory usually has it open already (to stat
// it, to set its metadata): it hands that pair on to the child's task instead of closing it, so the
// child does not resolve its path from the roots again. On Lustre or NFS each path component of
// that resolution is a lookup on the metadata server, and the open another (bench/latency.sh
// counts them per entry).
#pragma once

#include <string_view>

#include "engine/task.h"
#include "fs/unique_fd.h"
#include "passes/pass_context.h"

namespace lmover {

struct DirPair {
  UniqueFd src;
  UniqueFd dst;  // invalid when the target directory does not exist and that is allowed

  // The pair the parent task handed on with `task`, if any; else both sides opened by the task's
  // path from the roots. Throws FsError if a side cannot be opened. With `target_may_be_missing`
  // (a dry run), a target directory that does not exist yet, or is still something else, leaves
  // `dst` invalid. With `source_unlisted` (a task that reaches entries of the source directory by
  // name and never lists it), the source side is only looked up (O_PATH): no open and close, two
  // round trips each on a network filesystem, for a changelog-driven task that visits one entry.
  static DirPair open(const PassContext& ctx, const Task& task, bool target_may_be_missing,
                      bool source_unlisted = false);

  // Gives this pair to `child`, unless the process already holds as many handed-on pairs as its
  // descriptor limit allows (a wide tree can queue thousands of directory tasks): then the pair is
  // closed and the child opens its directory by path, as it would without a parent's help.
  void hand_on(Task& child) &&;

  // Opens child directory `name` on both sides of this pair and hands it on to `child`, its task;
  // `src_dir` is the source side when already open. Best effort: whatever fails here (the entry
  // is gone, or no longer a directory) is met again, and reported, by the child's own open.
  void hand_on_child(const char* name, Task& child, UniqueFd src_dir = UniqueFd()) const;

  // Whether hand_on would keep a pair now: a caller skips opening what it would only close.
  static bool can_hand_on();
};

}  // namespace lmover
