#include "passes/copy_pass.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fs/dir_reader.h"
#include "fs/fs_error.h"
#include "fs/fs_identity.h"
#include "fs/node_ops.h"
#include "fs/remove_tree.h"
#include "fs/resolve.h"
#include "fs/xattrs.h"
#include "passes/chunked_copy.h"
#include "passes/copy_decision.h"
#include "passes/entry_copy.h"

namespace lmover {

namespace {

// New entries inherit xattrs (an access ACL) only from a directory with a default ACL.
bool has_default_acl(int dir_fd) {
  if (fgetxattr(dir_fd, "system.posix_acl_default", nullptr, 0) >= 0) return true;
  return errno != ENODATA && errno != ENOTSUP;
}

}  // namespace

bool CopyPass::InheritedXattrs::possible() {
  // Asked once per directory task and only when an entry is created: a no-op pass asks nothing.
  if (!known) known = enabled && (dst_dir < 0 || has_default_acl(dst_dir));
  return *known;
}

bool pin_entries_for(int src_root) {
  // LMOVER_PIN_ENTRIES=1/0 overrides the guess, for a remote filesystem not known by its type.
  if (const char* forced = std::getenv("LMOVER_PIN_ENTRIES"); forced && *forced) return std::strcmp(forced, "0") != 0;
  try {
    return latency_bound(identify_root(src_root, "SRC").fs_type);
  } catch (const FsError&) {
    return false;
  }
}

void CopyPass::prepare() {
  if (ctx_.dry_run()) return;
  farm_.remove();
  EntryMeta src = stat_fd(ctx_.src_root(), "");
  EntryMeta dst = stat_fd(ctx_.dst_root(), "");
  if (decide_copy(src, dst) == CopyAction::kNone) return;
  XattrList xattrs = xattrs_to_copy(ctx_, NodeRef{ctx_.src_root(), ".", "", ctx_.src_root()});
  MetadataPlan plan = ctx_.options().metadata;
  plan.times = false;
  bool wrote = apply_metadata(NodeRef{ctx_.dst_root(), ".", "", ctx_.dst_root()}, src, xattrs, &dst, plan);
  if (copy_project_id(ctx_.src_root(), ctx_.dst_root(), ".") || wrote) PassStats::add(ctx_.stats().metadata_updated);
}

void CopyPass::finish() {
  if (!ctx_.dry_run()) farm_.remove();
}

void CopyPass::handle(const Task& task, TaskSink& sink) {
  try {
    if (task.kind == TaskKind::kDirectory) {
      copy_directory(task, sink);
    } else if (task.kind == TaskKind::kChunk) {
      copy_chunk(ctx_, task);
    } else {
      copy_batch(task, sink);
    }
  } catch (const FsError& e) {
    ctx_.fail_unless_vanished(e);
  }
}

void CopyPass::copy_directory(const Task& task, TaskSink& sink) {
  DirPair dirs = DirPair::open(ctx_, task, ctx_.dry_run());
  DirReader reader(dirs.src.get(), task.dir);
  std::vector<std::string> batch;
  DirEntry entry;
  while (reader.next(entry)) {
    std::string rel = join_rel(task.dir, entry.name);
    if (ctx_.filters().excluded(rel)) {
      PassStats::add(ctx_.stats().excluded);
      continue;
    }
    Filters::Reach reach = ctx_.filters().reach(rel);
    if (reach == Filters::Reach::kNone) continue;  // --only-from: not on the way to a listed path
    if (reach == Filters::Reach::kPath && entry.d_type != DT_DIR && entry.d_type != DT_UNKNOWN) continue;
    if (task.dir.empty() && std::strcmp(entry.name, kHardlinkFarmName) == 0) {
      ctx_.fail(FsError("copy", rel, "name reserved by lmover on the target; exclude it"));
      continue;
    }
    if (entry.d_type == DT_DIR || entry.d_type == DT_UNKNOWN) {
      try {
        if (take_directory_entry(dirs, entry, rel, task, sink)) continue;
      } catch (const FsError& e) {
        ctx_.fail_unless_vanished(e);
        continue;
      }
    }
    if (reach == Filters::Reach::kPath) continue;  // a parent of a listed path that is no directory now
    batch.emplace_back(entry.name);
    if (batch.size() == kMaxBatch) {
      sink.submit(task.child_batch(task.dir, std::move(batch)));
      batch.clear();
    }
  }
  // The last few entries are copied right here, with the directory pair already open: a batch task
  // of their own would open both directories again, and on Lustre or NFS that is a lookup per path
  // component and an open on each side (bench/latency.sh counts them).
  constexpr size_t kEntriesCopiedInPlace = 64;
  if (batch.size() > kEntriesCopiedInPlace) {
    sink.submit(task.child_batch(task.dir, std::move(batch)));
  } else if (!batch.empty()) {
    copy_names(dirs, task, batch, sink);
  }
}

bool CopyPass::take_directory_entry(const DirPair& dirs, const DirEntry& entry, std::string& rel, const Task& task,
                                    TaskSink& sink) {
  UniqueFd src_dir;
  std::optional<EntryMeta> src;
  if (entry.d_type == DT_DIR && DirPair::can_hand_on()) {
    // Opened, then fstat'ed: one lookup where stat-then-open makes two, and the open directory goes
    // on to the child's task. O_NOFOLLOW|O_DIRECTORY: what is no longer a directory is not opened.
    int why = 0;
    src_dir = open_dir_if_still_one(dirs.src.get(), entry.name, rel, &why);
    if (src_dir.valid()) src = stat_fd(src_dir.get(), rel);
    else if (why != ENOENT) return false;  // a file or symlink now: copied as one
  } else {
    src = stat_if_exists(dirs.src.get(), entry.name, rel);
  }
  if (!src) {
    PassStats::add(ctx_.stats().vanished);
    return true;
  }
  if (src->type != EntryType::kDirectory) return false;
  PassStats::add(ctx_.stats().entries);
  settle_directory(dirs, entry.name, std::move(rel), *src, std::move(src_dir), task, sink);
  return true;
}

void CopyPass::settle_directory(const DirPair& dirs, const char* name, std::string rel, const EntryMeta& src,
                                UniqueFd src_dir, const Task& parent, TaskSink& sink, bool second_look) {
  std::optional<EntryMeta> dst;
  if (dirs.dst.valid() && !parent.target_is_new) dst = stat_if_exists(dirs.dst.get(), name, rel);
  CopyAction action = decide_copy(src, dst);
  if (action == CopyAction::kNone) {
    Task child = parent.child_directory(std::move(rel));
    dirs.hand_on_child(name, child, std::move(src_dir));
    return sink.submit(std::move(child));
  }
  ctx_.note(action == CopyAction::kUpdateMetadata ? "update-metadata" : "mkdir", rel);
  if (ctx_.dry_run()) {
    PassStats::add(action == CopyAction::kUpdateMetadata ? ctx_.stats().metadata_updated : ctx_.stats().dirs_created);
    return sink.submit(parent.child_directory(std::move(rel)));
  }
  if (action == CopyAction::kReplace) {
    PassStats::add(ctx_.stats().removed, remove_entry(dirs.dst.get(), name, rel, nullptr));
  }
  bool created = action != CopyAction::kUpdateMetadata;
  if (created) {
    try {
      const auto& lustre = ctx_.options().lustre;
      if (lustre && lustre->places(rel)) {
        lustre->make_dir(dirs.dst.get(), name, rel);
      } else {
        create_dir(dirs.dst.get(), name, rel);
      }
    } catch (const FsError& e) {
      // Made since we looked (a repeated task, or a parent we took for new): look again, once.
      if (e.err() != EEXIST || second_look) throw;
      Task careful = parent;
      careful.target_is_new = false;
      return settle_directory(dirs, name, std::move(rel), src, std::move(src_dir), careful, sink, true);
    }
    PassStats::add(ctx_.stats().dirs_created);
  }
  DirPair child_dirs;
  child_dirs.src = src_dir.valid() ? std::move(src_dir) : open_dir_at(dirs.src.get(), name, rel);
  child_dirs.dst = open_dir_at(dirs.dst.get(), name, rel);
  if (created && ctx_.options().lustre) {
    ctx_.options().lustre->copy_dir_default(child_dirs.src.get(), child_dirs.dst.get(), rel);
  }
  XattrList xattrs = xattrs_to_copy(ctx_, NodeRef{dirs.src.get(), name, rel, child_dirs.src.get()});
  MetadataPlan plan = ctx_.options().metadata;
  plan.times = false;
  const EntryMeta* current = action == CopyAction::kUpdateMetadata ? &*dst : nullptr;
  bool wrote = apply_metadata(NodeRef{dirs.dst.get(), name, rel, child_dirs.dst.get()}, src, xattrs, current, plan);
  wrote = copy_project_id(child_dirs.src.get(), child_dirs.dst.get(), rel) || wrote;
  if (!created) PassStats::add(wrote ? ctx_.stats().metadata_updated : ctx_.stats().unchanged);
  Task child = parent.child_directory(std::move(rel), created);
  std::move(child_dirs).hand_on(child);
  sink.submit(std::move(child));
}

void CopyPass::copy_batch(const Task& task, TaskSink& sink) {
  DirPair dirs = DirPair::open(ctx_, task, ctx_.dry_run());
  copy_names(dirs, task, task.names, sink);
}

void CopyPass::copy_names(const DirPair& dirs, const Task& task, const std::vector<std::string>& names, TaskSink& sink) {
  InheritedXattrs may_inherit_xattrs{dirs.dst.get(), ctx_.options().metadata.xattrs};
  for (const std::string& name : names) {
    try {
      copy_entry(dirs, name, task, sink, may_inherit_xattrs);
    } catch (const FsError& e) {
      ctx_.fail_unless_vanished(e);  // users delete files while we copy
    }
  }
}

void CopyPass::copy_entry(const DirPair& dirs, const std::string& name, const Task& task, TaskSink& sink,
                          InheritedXattrs& may_inherit_xattrs, bool second_look) {
  std::string rel = join_rel(task.dir, name);
  // Into a directory this pass created, every entry is copied: pinned first, its stat, its data and
  // its link target are then reached with one lookup by name instead of two.
  UniqueFd pinned;
  std::optional<EntryMeta> src;
  if (task.target_is_new && ctx_.options().pin_entries) {
    pinned = pin_entry(dirs.src.get(), name.c_str(), rel);
    if (pinned.valid()) src = stat_fd(pinned.get(), rel);
  } else {
    src = stat_if_exists(dirs.src.get(), name.c_str(), rel);
  }
  if (!src) {
    PassStats::add(ctx_.stats().vanished);
    return;
  }
  if (!second_look) PassStats::add(ctx_.stats().entries);
  if (src->type == EntryType::kDirectory) {  // it became one since the listing
    Task careful = task;
    careful.target_is_new = false;
    return settle_directory(dirs, name.c_str(), std::move(rel), *src, UniqueFd(), careful, sink);
  }
  if (ctx_.filters().skipped_by_time(*src)) {
    PassStats::add(ctx_.stats().skipped_by_time);
    return;
  }
  std::optional<EntryMeta> dst;
  if (dirs.dst.valid() && !task.target_is_new) dst = stat_if_exists(dirs.dst.get(), name.c_str(), rel);
  CopyAction action = decide_copy(*src, dst);
  if (action == CopyAction::kNone && wants_new_layout(dirs, name, *src, rel)) action = CopyAction::kRewrite;
  if (action == CopyAction::kNone) {
    if (wants_chunks(ctx_, *src)) drop_stale_marks(ctx_, dirs.dst.get(), name.c_str(), rel);
    PassStats::add(ctx_.stats().unchanged);
    return;
  }
  ctx_.note(action_name(action), rel);
  if (ctx_.dry_run()) {
    PassStats::add(action == CopyAction::kUpdateMetadata ? ctx_.stats().metadata_updated : ctx_.stats().files_copied);
    return;
  }
  EntryLocation from{dirs.src.get(), name.c_str(), true, pinned.get()};
  EntryLocation to{dirs.dst.get(), name.c_str(), may_inherit_xattrs.possible()};
  try {
    bool whole_file = true;
    if ((action == CopyAction::kCreate || action == CopyAction::kRewrite) && wants_chunks(ctx_, *src)) {
      whole_file = !start_chunked_copy(ctx_, from, to, rel, task, sink);
    }
    if (whole_file) apply_action(action, from, *src, to, dst, rel);
  } catch (const FsError& e) {
    if (e.err() != EEXIST || second_look) throw;
    // Someone made the entry after we looked: a repeated task (redelivered, or running twice on
    // two workers), or a directory we took for new. Look again and decide with what is there.
    Task careful = task;
    careful.target_is_new = false;
    copy_entry(dirs, name, careful, sink, may_inherit_xattrs, true);
  }
}

bool CopyPass::wants_new_layout(const DirPair& dirs, const std::string& name, const EntryMeta& src,
                                const std::string& rel) {
  const auto& lustre = ctx_.options().lustre;
  // Hard-linked files keep theirs: rewriting one name would split the link group.
  if (!ctx_.options().relayout || !lustre || src.type != EntryType::kRegular || src.nlink > 1) return false;
  return lustre->needs_relayout(dirs.src.get(), dirs.dst.get(), name.c_str(), src.size, rel);
}

void CopyPass::apply_action(CopyAction action, EntryLocation from, const EntryMeta& src, EntryLocation to,
                            const std::optional<EntryMeta>& dst, const std::string& rel) {
  switch (action) {
    case CopyAction::kReplace:
      PassStats::add(ctx_.stats().removed, remove_entry(to.dir_fd, to.name, rel, nullptr));
      create_entry(ctx_, from, src, to, rel);
      break;
    case CopyAction::kCreate: create_entry(ctx_, from, src, to, rel); break;
    case CopyAction::kRewrite: rewrite_entry(ctx_, from, src, to, rel); break;
    case CopyAction::kUpdateMetadata: update_entry_metadata(ctx_, from, src, to, *dst, rel); break;
    case CopyAction::kLinkGroup: farm_.settle(from, src, to, dst, dst && same_content(src, *dst), rel); break;
    case CopyAction::kNone: break;
  }
}

}  // namespace lmover
