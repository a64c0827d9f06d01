#include "passes/dir_pair.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

#include "fs/fs_error.h"
#include "fs/resolve.h"

namespace lmover {
namespace {

// Pairs handed on and not yet taken, process-wide. The bound leaves a quarter of the descriptor
// limit to them (two descriptors a pair), the rest to data copies, sockets and logs.
std::atomic<long> g_pairs_held{0};

long max_pairs_held() {
  static const long limit = [] {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 4096L;
    return std::clamp(static_cast<long>(rl.rlim_cur) / 8 - 64, 0L, 16384L);
  }();
  return limit;
}

class HandedOnPair final : public TaskAttachment {
 public:
  explicit HandedOnPair(DirPair pair) : pair_(std::move(pair)) {}
  ~HandedOnPair() override { g_pairs_held.fetch_sub(1, std::memory_order_relaxed); }
  DirPair take() { return std::move(pair_); }

 private:
  DirPair pair_;
};

}  // namespace

DirPair DirPair::open(const PassContext& ctx, const Task& task, bool target_may_be_missing, bool source_unlisted) {
  if (auto* handed = dynamic_cast<HandedOnPair*>(task.attachment.get())) {
    DirPair pair = handed->take();
    if (pair.src.valid()) return pair;  // taken once: a task runs once in a process
  }
  DirPair pair;
  pair.src = source_unlisted ? lookup_dir_beneath(ctx.src_root(), task.dir) : open_dir_beneath(ctx.src_root(), task.dir);
  if (ctx.dst_root() < 0 && target_may_be_missing) return pair;  // dry run onto a DST not made yet
  try {
    pair.dst = open_dir_beneath(ctx.dst_root(), task.dir);
  } catch (const FsError& e) {
    if (!(target_may_be_missing && (e.err() == ENOENT || e.err() == ENOTDIR))) throw;
  }
  return pair;
}

bool DirPair::can_hand_on() { return g_pairs_held.load(std::memory_order_relaxed) < max_pairs_held(); }

void DirPair::hand_on(Task& child) && {
  if (!src.valid()) return;
  if (g_pairs_held.fetch_add(1, std::memory_order_relaxed) >= max_pairs_held()) {
    g_pairs_held.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  child.attachment = std::make_shared<HandedOnPair>(std::move(*this));
}

void DirPair::hand_on_child(const char* name, Task& child, UniqueFd src_dir) const {
  if (!dst.valid() || !can_hand_on()) return;
  try {
    DirPair pair;
    int why = 0;
    pair.src = src_dir.valid() ? std::move(src_dir) : open_dir_if_still_one(src.get(), name, child.dir, &why);
    if (!pair.src.valid()) return;
    pair.dst = open_dir_if_still_one(dst.get(), name, child.dir, &why);
    if (pair.dst.valid()) std::move(pair).hand_on(child);
  } catch (const FsError&) {
  }
}

}  // namespace lmover
