#include "passes/hsm_restore.h"

#include <fcntl.h>

#include "fs/fs_error.h"
#include "fs/resolve.h"
#include "lustre/data_version.h"
#include "passes/copy_decision.h"

namespace lmover {
namespace {

// Whether the copy pass would read source file `name` (stat `src`) to build its target.
bool copy_reads(const PassContext& ctx, const DirPair& dirs, const Task& task, const char* name, const EntryMeta& src,
                const std::string& rel) {
  if (src.type != EntryType::kRegular || src.size == 0 || ctx.filters().skipped_by_time(src)) return false;
  std::optional<EntryMeta> dst;
  if (dirs.dst.valid() && !task.target_is_new) dst = stat_if_exists(dirs.dst.get(), name, rel);
  CopyAction action = decide_copy(src, dst, ctx.options().change_rule());
  return action != CopyAction::kNone && action != CopyAction::kUpdateMetadata;
}

}  // namespace

void restore_ahead(const PassContext& ctx, const DirPair& dirs, const Task& task, const std::vector<std::string>& names) {
  const auto& lustre = ctx.options().lustre;
  if (!lustre || lustre->hsm().settings().mode != HsmSettings::Mode::kRestore || ctx.dry_run()) return;
  std::vector<Hsm::Released> wanted;
  for (const std::string& name : names) {
    std::string rel = join_rel(task.dir, name);
    // Whatever goes wrong here is met again by the copy of the entry, which says so.
    try {
      std::optional<EntryMeta> src = stat_if_exists(dirs.src.get(), name.c_str(), rel);
      if (!src || !copy_reads(ctx, dirs, task, name.c_str(), *src, rel)) continue;
      int fd = openat_noatime(dirs.src.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) continue;
      UniqueFd in(fd);
      if (!lustre->hsm().released(fd, rel)) continue;
      std::optional<Fid> fid = lustre->api().fid_of(fd);
      if (!fid) continue;
      PassStats::add(ctx.stats().hsm_released);
      ctx.note("restore", rel);
      wanted.push_back(Hsm::Released{dirs.src.get(), name, rel, *fid, static_cast<uint64_t>(src->size)});
    } catch (const FsError&) {
      continue;
    }
  }
  if (wanted.empty()) return;
  try {
    for (const Hsm::Released* back : lustre->hsm().restore("/proc/self/fd/" + std::to_string(ctx.src_root()), wanted)) {
      PassStats::add(ctx.stats().hsm_restored);
      PassStats::add(ctx.stats().hsm_restored_bytes, back->size);
    }
  } catch (const FsError& e) {
    ctx.fail(e);  // the request was refused: each file is then deferred by its copy
  }
}

}  // namespace lmover
