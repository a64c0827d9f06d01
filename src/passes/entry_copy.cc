#include "passes/entry_copy.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "fs/data_copy.h"
#include "fs/fs_error.h"
#include "fs/node_ops.h"
#include "fs/project_id.h"
#include "fs/resolve.h"
#include "fs/xattrs.h"
#include "lustre/data_version.h"

namespace lmover {
namespace {

MetadataPlan plan_for_new(const PassContext& ctx, EntryLocation dst) {
  MetadataPlan plan = ctx.options().metadata;
  plan.new_without_inherited_xattrs = !dst.may_inherit_xattrs;
  return plan;
}

// The metadata, then the times, of a new regular file `out` (see copy_regular).
SourceSnapshot finish_regular(const PassContext& ctx, EntryLocation src, EntryLocation dst, std::string_view rel,
                              UniqueFd in, const EntryMeta& meta, int out, bool settled) {
  copy_project_id(in.get(), meta, out, rel);
  XattrList xattrs = xattrs_to_copy(ctx, NodeRef{src.dir_fd, src.name, rel, in.get()});
  MetadataPlan plan = plan_for_new(ctx, dst);
  bool times = plan.times;
  plan.times = false;
  NodeRef made{dst.dir_fd, dst.name, rel, out};
  apply_metadata(made, meta, xattrs, nullptr, plan);
  SourceSnapshot read{std::move(in), meta, true, settled};
  // Looked at before the times too: a change found now leaves the file without the source's mtime
  // even if this run is killed before the look that follows them (changed_since, by the caller),
  // so only a change in the instant between the two looks can go unseen by a killed run.
  if (changed_since(read, src, rel)) {
    read.settled = false;
    return read;
  }
  if (times) apply_times(made, meta, nullptr);
  return read;
}

// A released source file (--hsm): deferred, made a stub on the target, or (restore mode, whose
// restores came before: restore_ahead) deferred as one that did not come back.
SourceSnapshot copy_released(const PassContext& ctx, EntryLocation src, EntryLocation dst, std::string_view rel,
                             UniqueFd in, const EntryMeta& meta, const HsmState& state) {
  const LustreTarget& lustre = *ctx.options().lustre;
  HsmSettings::Mode mode = lustre.hsm().settings().mode;
  if (mode == HsmSettings::Mode::kRestore) {
    ctx.note("defer(still released)", rel);
    throw HsmDeferred("copy", rel, "still released (HSM) after its restore was asked for: the archive did not bring it back");
  }
  PassStats::add(ctx.stats().hsm_released);
  if (mode == HsmSettings::Mode::kSkip) {
    ctx.note("defer(released)", rel);
    throw HsmDeferred("copy", rel,
                      fmt::format("released (HSM, archive {}): its data are on the archive only; --hsm stub or "
                                  "--hsm restore copies it", state.archive_id));
  }
  ctx.note("stub", rel);
  std::optional<Layout> layout = target_layout(lustre.settings().layout, lustre.api().layout_of(in.get()), meta.size);
  UniqueFd out = lustre.hsm().make_stub(in.get(), meta, state, layout, dst.dir_fd, dst.name, rel);
  // A released file's version is the one its archived copy has: a later pass compares it.
  if (auto version = source_version(lustre.api(), in.get(), false)) record_version(out.get(), *version, rel);
  PassStats::add(ctx.stats().hsm_stubbed);
  return finish_regular(ctx, src, dst, rel, std::move(in), meta, out.get(), true);
}

SourceSnapshot copy_regular(const PassContext& ctx, EntryLocation src, EntryLocation dst, std::string_view rel) {
  UniqueFd in = open_source_file(src, rel);
  // The metadata of the very inode we read, not of whatever the name held at listing time.
  EntryMeta meta = stat_fd(in.get(), rel);
  if (meta.type != EntryType::kRegular) throw FsError("copy", rel, "entry changed type during the pass");
  const auto& lustre = ctx.options().lustre;
  // Before any data call: a read, a SEEK_DATA or a FIEMAP of a released file restores it.
  if (lustre) {
    if (std::optional<HsmState> state = lustre->hsm().released(in.get(), rel)) {
      return copy_released(ctx, src, dst, rel, std::move(in), meta, *state);
    }
  }
  bool settled = settle_source(in.get(), meta, rel);
  // Taken before the first byte and again after the last: a version that moved means a write
  // reached the file meanwhile, whatever its times say.
  std::optional<SourceVersion> version = lustre ? source_version(lustre->api(), in.get(), true) : std::nullopt;
  bool mirrored = false;
  UniqueFd out = lustre ? lustre->create_file(in.get(), meta.size, dst.dir_fd, dst.name, rel, &mirrored)
                        : create_file(dst.dir_fd, dst.name, rel);
  uint64_t bytes = copy_data(in.get(), out.get(), meta, rel);
  // Writing made every FLR mirror but one stale; brought in sync before the times (it writes).
  if (mirrored && !lustre->sync_mirrors(out, rel)) ctx.note("mirrors-left-stale", rel);
  PassStats::add(ctx.stats().files_copied);
  PassStats::add(ctx.stats().bytes_copied, bytes);
  if (version) {
    if (source_version(lustre->api(), in.get(), true) != version) {
      settled = false;
    } else {
      record_version(out.get(), *version, rel);
    }
  }
  return finish_regular(ctx, src, dst, rel, std::move(in), meta, out.get(), settled);
}

SourceSnapshot copy_special(const PassContext& ctx, EntryLocation src, const EntryMeta& listed, EntryLocation dst,
                            std::string_view rel) {
  std::string target;
  EntryMeta meta = listed;
  if (listed.type == EntryType::kSymlink) {
    bool pinned = src.pinned >= 0;
    target = pinned ? read_link(src.pinned, "", rel) : read_link(src.dir_fd, src.name, rel);
    // readlink may just have bumped the symlink's atime: copy the times it has now.
    auto restat = [&] { return pinned ? stat_fd(src.pinned, rel) : stat_at(src.dir_fd, src.name, rel); };
    meta = restat();
    if (meta.type != EntryType::kSymlink) throw FsError("copy", rel, "entry changed type during the pass");
    // A symlink swapped in the tick of the last swap would look the same: wait that tick out.
    if (!settle_source(restat, meta)) throw FsError("copy", rel, "symlink kept being replaced");
  }
  create_special(dst.dir_fd, dst.name, meta, target, rel);
  XattrList xattrs = xattrs_to_copy(ctx, NodeRef{src.dir_fd, src.name, rel, -1, src.pinned});
  apply_metadata(NodeRef{dst.dir_fd, dst.name, rel}, meta, xattrs, nullptr, plan_for_new(ctx, dst));
  PassStats::add(ctx.stats().specials_created);
  // Checked against the stat that came before readlink: a symlink swapped for another between the
  // two is another inode.
  return SourceSnapshot{UniqueFd(), listed, true};
}

}  // namespace

bool settle_source(int fd, EntryMeta& meta, std::string_view rel) {
  return settle_source([&] { return stat_fd(fd, rel); }, meta);
}

bool settle_source(const std::function<EntryMeta()>& restat, EntryMeta& meta) {
  static const int64_t kTickNs = [] {
    timespec res{};
    clock_getres(CLOCK_REALTIME_COARSE, &res);
    return std::max<int64_t>(res.tv_sec * 1000000000LL + res.tv_nsec, 1000000);
  }();
  auto ns = [](const timespec& t) { return int64_t(t.tv_sec) * 1000000000LL + t.tv_nsec; };
  for (int wait = 0;; ++wait) {
    // Whole-second times on both (Lustre, some NFS servers): the tick is a second.
    int64_t tick = meta.ctime.tv_nsec == 0 && meta.mtime.tv_nsec == 0 ? 1000000000LL : kTickNs;
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t age = ns(now) - ns(meta.ctime);
    if (age >= 2 * tick) return true;
    if (wait == 3) return false;
    // A ctime in the future (another clock) waits at most the two ticks, then counts as settled.
    std::this_thread::sleep_for(std::chrono::nanoseconds(std::min(2 * tick, 2 * tick - age)));
    EntryMeta now_meta = restat();
    if (same_time(now_meta.ctime, meta.ctime) && now_meta.ino == meta.ino) return true;
    // Renamed over or unlinked while we waited (its name is another inode's now), or relinked:
    // not the entry the name stands for any more.
    if (now_meta.ino != meta.ino || now_meta.nlink != meta.nlink || now_meta.nlink == 0) return false;
    meta = now_meta;
  }
}

UniqueFd open_source_file(EntryLocation src, std::string_view rel) {
  if (src.pinned >= 0) {
    int fd = reopen_pinned(src.pinned, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) return UniqueFd(fd);
    if (errno != ENOENT) throw FsError("open", rel, errno);  // ENOENT: no /proc, open by name
  }
  int fd = openat_noatime(src.dir_fd, src.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw FsError("open", rel, errno);
  return UniqueFd(fd);
}

bool copy_project_id(int src_fd, const EntryMeta& src, int dst_fd, std::string_view rel) {
  return sync_project_id(dst_fd, read_project_id(src_fd, src.dev, rel).value_or(ProjectId{}), rel);
}

XattrList xattrs_to_copy(const PassContext& ctx, const NodeRef& node) {
  return ctx.options().metadata.xattrs ? read_xattrs(node) : XattrList();
}

SourceSnapshot create_entry(const PassContext& ctx, EntryLocation src, const EntryMeta& meta, EntryLocation dst,
                            std::string_view rel) {
  try {
    if (meta.type == EntryType::kRegular) return copy_regular(ctx, src, dst, rel);
    return copy_special(ctx, src, meta, dst, rel);
  } catch (const FsError& e) {
    // EEXIST means the name was never ours to remove.
    if (e.err() != EEXIST) unlinkat(dst.dir_fd, dst.name, 0);
    throw;
  }
}

SourceSnapshot rewrite_entry(const PassContext& ctx, EntryLocation src, const EntryMeta& meta, EntryLocation dst,
                             std::string_view rel) {
  std::string staged = temp_name();
  SourceSnapshot read = create_entry(ctx, src, meta, EntryLocation{dst.dir_fd, staged.c_str(), dst.may_inherit_xattrs}, rel);
  // Not renamed into place if the source already moved on (see copy_regular): the old entry stays.
  if (changed_since(read, src, rel)) {
    unlinkat(dst.dir_fd, staged.c_str(), 0);
    read.settled = false;
    return read;
  }
  unsettle_other_names(dst.dir_fd, dst.name, rel);
  rename_into_place(dst.dir_fd, staged, dst.name, rel);
  return read;
}

SourceSnapshot update_entry_metadata(const PassContext& ctx, EntryLocation src, const EntryMeta& meta,
                                     EntryLocation dst, const EntryMeta& current, std::string_view rel) {
  SourceSnapshot read{UniqueFd(), meta, true};
  XattrList xattrs = xattrs_to_copy(ctx, NodeRef{src.dir_fd, src.name, rel, -1, src.pinned});
  bool wrote = apply_metadata(NodeRef{dst.dir_fd, dst.name, rel}, meta, xattrs, &current, ctx.options().metadata);
  if (meta.type == EntryType::kRegular) {  // project ids need the files open; a symlink has none here
    read.fd = open_source_file(src, rel);
    int out = openat(dst.dir_fd, dst.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (out < 0) throw FsError("open", rel, errno);
    UniqueFd out_fd(out);
    wrote = copy_project_id(read.fd.get(), meta, out_fd.get(), rel) || wrote;
  }
  PassStats::add(wrote ? ctx.stats().metadata_updated : ctx.stats().unchanged);
  return read;
}

bool changed_since(const SourceSnapshot& seen, EntryLocation src, std::string_view rel) {
  if (!seen.taken) return false;
  if (!seen.settled) return true;
  std::optional<EntryMeta> now;
  if (seen.fd.valid()) {
    now = restat_fd(seen.fd.get(), rel);
  } else if (src.pinned >= 0) {
    now = restat_fd(src.pinned, rel);
  } else {
    now = stat_if_exists(src.dir_fd, src.name, rel);
  }
  if (!now || now->nlink == 0) return true;
  const EntryMeta& was = seen.meta;
  return now->ino != was.ino || now->type != was.type || now->size != was.size || now->nlink != was.nlink ||
         !same_time(now->mtime, was.mtime) || !same_time(now->ctime, was.ctime);
}

bool same_data(const PassContext& ctx, EntryLocation src, const EntryMeta& meta, EntryLocation dst, std::string_view rel) {
  if (meta.type == EntryType::kSymlink) {
    std::string mine = src.pinned >= 0 ? read_link(src.pinned, "", rel) : read_link(src.dir_fd, src.name, rel);
    return mine == read_link(dst.dir_fd, dst.name, rel);
  }
  UniqueFd in = open_source_file(src, rel);
  EntryMeta now = stat_fd(in.get(), rel);
  const auto& lustre = ctx.options().lustre;
  std::optional<HsmState> released = lustre ? lustre->hsm().released(in.get(), rel) : std::nullopt;
  // Still changing: not the same, as far as anyone can tell; the rewrite that follows checks again.
  // (A released file is not read, so nothing needs to settle.)
  if ((!released && !settle_source(in.get(), now, rel)) || !same_time(now.ctime, meta.ctime)) return false;
  int out = openat_noatime(dst.dir_fd, dst.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (out < 0) throw FsError("open", rel, errno);
  UniqueFd out_fd(out);
  if (lustre) {
    // The version the target was copied from, against the source's now: no byte read on either side.
    std::optional<SourceVersion> recorded = recorded_version(out_fd.get());
    std::optional<SourceVersion> current = source_version(lustre->api(), in.get(), !released);
    if (recorded && current) return *recorded == *current;
    // Without versions, bytes: never those of a released file (a restore), on either side.
    if (released || lustre->hsm().released(out_fd.get(), rel)) return false;
  }
  return same_bytes(in.get(), out_fd.get(), rel);
}

}  // namespace lmover
