#include "passes/copy_pass.h"

#include <unordered_set>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <spdlog/spdlog.h>

#include "engine/give_up.h"
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
#include "passes/hsm_restore.h"

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
  if (ctx_.options().lustre) ctx_.options().lustre->copy_default_dir_layout(ctx_.src_root(), ctx_.dst_root(), ".");
  EntryMeta src = stat_fd(ctx_.src_root(), "");
  EntryMeta dst = stat_fd(ctx_.dst_root(), "");
  NodeRef src_node{ctx_.src_root(), ".", "", ctx_.src_root()};
  CopyAction action = decide_copy(src, dst, ctx_.options().change_rule());
  if (action == CopyAction::kNone && xattrs_match(src_node, NodeRef{ctx_.dst_root(), ".", "", ctx_.dst_root()})) return;
  XattrList xattrs = xattrs_to_copy(ctx_, src_node);
  MetadataPlan plan = ctx_.options().metadata;
  plan.times = false;
  bool wrote = apply_metadata(NodeRef{ctx_.dst_root(), ".", "", ctx_.dst_root()}, src, xattrs, &dst, plan);
  if (copy_project_id(ctx_.src_root(), src, ctx_.dst_root(), ".") || wrote) PassStats::add(ctx_.stats().metadata_updated);
}

void CopyPass::mark_data_settled(EntryLocation to, const EntryMeta& src, const std::string& rel) {
  // Compared equal, but a target ctime no later than the source's would have the next pass compare
  // them again, and every pass after it: the times are set again (as they are), moving the ctime.
  auto now = stat_if_exists(to.dir_fd, to.name, rel);
  if (now && !newer(now->ctime, src.ctime)) apply_times(NodeRef{to.dir_fd, to.name, rel}, src, nullptr);
}

bool CopyPass::xattrs_match(NodeRef src, NodeRef dst) const {
  if (!ctx_.options().metadata.xattrs) return true;
  // Names and values, both sides, as rsync -X does on every run: an edit on the target bumps only
  // the target's ctime, which the change rule cannot see. One listing per side; values only
  // where there are names.
  return read_xattrs(src) == read_xattrs(dst);
}

void CopyPass::finish() {
  if (ctx_.dry_run()) return;
  try {
    farm_.remove();
  } catch (const FsError& e) {
    // A failed entry, not the end of the run: the later passes still run (dirtime above all), and
    // the next copy removes the area before anything else (prepare).
    ctx_.fail(e);
  }
}

void CopyPass::handle(const Task& task, TaskSink& sink) {
  try {
    if (task.kind == TaskKind::kDirectory) {
      copy_directory(task, sink);
    } else if (task.kind == TaskKind::kChunk) {
      give_up_point();
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
  // A changelog-driven listing acts on the names the target lacks: every other name that changed
  // is a place of its own (ChangedPlacesPass), so an unchanged one costs no lookup here.
  std::unordered_set<std::string> on_target;
  if (task.shallow && dirs.dst.valid()) {
    DirReader target(dirs.dst.get(), task.dir);
    DirEntry e;
    while (target.next(e)) on_target.emplace(e.name);
  }
  DirReader reader(dirs.src.get(), task.dir);
  std::vector<std::string> batch;
  DirEntry entry;
  while (reader.next(entry)) {
    if (!on_target.empty() && on_target.count(entry.name)) continue;
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
  CopyAction action = decide_copy(src, dst, ctx_.options().change_rule());
  if (action == CopyAction::kNone && !xattrs_match(NodeRef{dirs.src.get(), name, rel, src_dir.get()},
                                                   NodeRef{dirs.dst.get(), name, rel})) {
    action = CopyAction::kUpdateMetadata;
  }
  if (action == CopyAction::kNone) {
    if (parent.shallow) return;  // unchanged itself: reached by its own place if its entries changed
    Task child = parent.child_directory(std::move(rel));
    dirs.hand_on_child(name, child, std::move(src_dir));
    return sink.submit(std::move(child));
  }
  ctx_.note(action == CopyAction::kUpdateMetadata ? "update-metadata" : "mkdir", rel);
  if (ctx_.dry_run()) {
    PassStats::add(action == CopyAction::kUpdateMetadata ? ctx_.stats().metadata_updated : ctx_.stats().dirs_created);
    if (action == CopyAction::kUpdateMetadata && parent.shallow) return;
    return sink.submit(parent.child_directory(std::move(rel)));
  }
  if (action == CopyAction::kReplace) {
    PassStats::add(ctx_.stats().removed, remove_entry(dirs.dst.get(), name, rel, nullptr));
  }
  bool created = action != CopyAction::kUpdateMetadata;
  if (created) {
    try {
      const auto& lustre = ctx_.options().lustre;
      std::optional<DirLayout> striping;
      if (lustre && lustre->settings().dir_layout_copy) {
        if (!src_dir.valid()) src_dir = open_dir_at(dirs.src.get(), name, rel);
        striping = lustre->striping_to_copy(src_dir.get(), rel);
      }
      if (striping) {
        lustre->make_striped_dir(dirs.dst.get(), name, *striping, rel);
      } else if (lustre && lustre->places(rel)) {
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
    // Before any subdirectory is made in it: they inherit it as the source's did.
    ctx_.options().lustre->copy_default_dir_layout(child_dirs.src.get(), child_dirs.dst.get(), rel);
  }
  XattrList xattrs = xattrs_to_copy(ctx_, NodeRef{dirs.src.get(), name, rel, child_dirs.src.get()});
  MetadataPlan plan = ctx_.options().metadata;
  plan.times = false;
  const EntryMeta* current = action == CopyAction::kUpdateMetadata ? &*dst : nullptr;
  bool wrote = apply_metadata(NodeRef{dirs.dst.get(), name, rel, child_dirs.dst.get()}, src, xattrs, current, plan);
  wrote = copy_project_id(child_dirs.src.get(), src, child_dirs.dst.get(), rel) || wrote;
  if (!created) PassStats::add(wrote ? ctx_.stats().metadata_updated : ctx_.stats().unchanged);
  if (!created && parent.shallow) return;  // its own metadata was the change
  Task child = parent.child_directory(std::move(rel), created);
  std::move(child_dirs).hand_on(child);
  sink.submit(std::move(child));
}

void CopyPass::copy_batch(const Task& task, TaskSink& sink) {
  // A shallow batch is a changelog's entries, each reached by name: the source directory unopened.
  DirPair dirs = DirPair::open(ctx_, task, ctx_.dry_run(), task.shallow);
  copy_names(dirs, task, task.names, sink);
}

void CopyPass::copy_names(const DirPair& dirs, const Task& task, const std::vector<std::string>& names, TaskSink& sink) {
  restore_ahead(ctx_, dirs, task, names);
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
                          InheritedXattrs& may_inherit_xattrs, bool second_look, int attempt) {
  std::string rel = join_rel(task.dir, name);
  // Where a lookup is a round trip (pin_entries_for), the entry is pinned first: its stat, its
  // data, its link target and its xattrs are then reached with one lookup by name instead of two,
  // in a new directory (every entry copied) and an old one (an unchanged entry's xattrs compared).
  UniqueFd pinned;
  std::optional<EntryMeta> src;
  if (ctx_.options().pin_entries) {
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
  CopyAction action = decide_copy(*src, dst, ctx_.options().change_rule());
  if (action == CopyAction::kNone && wants_new_layout(dirs, name, *src, rel)) action = CopyAction::kRewrite;
  // Marks a killed chunked copy left on a finished file are extra xattrs: removed like any other.
  if (action == CopyAction::kNone && !xattrs_match(NodeRef{dirs.src.get(), name.c_str(), rel, -1, pinned.get()},
                                                   NodeRef{dirs.dst.get(), name.c_str(), rel})) {
    action = CopyAction::kUpdateMetadata;
  }
  if (action == CopyAction::kNone) {
    if (wants_chunks(ctx_, *src) && !ctx_.options().metadata.xattrs) drop_stale_marks(ctx_, dirs.dst.get(), name.c_str(), rel);
    PassStats::add(ctx_.stats().unchanged);
    return;
  }
  // A big file is not compared in one task: its chunks rewrite it on every thread and node.
  if (action == CopyAction::kCheckContent && wants_chunks(ctx_, *src)) action = CopyAction::kRewrite;
  ctx_.note(action_name(action), rel);
  if (ctx_.dry_run()) {
    PassStats::add(action == CopyAction::kUpdateMetadata ? ctx_.stats().metadata_updated : ctx_.stats().files_copied);
    return;
  }
  EntryLocation from{dirs.src.get(), name.c_str(), true, pinned.get()};
  EntryLocation to{dirs.dst.get(), name.c_str(), may_inherit_xattrs.possible()};
  SourceSnapshot read;
  try {
    bool whole_file = true;
    // A released file is not cut in chunks: its copy (copy_regular) decides what to do with it.
    if ((action == CopyAction::kCreate || action == CopyAction::kRewrite) && wants_chunks(ctx_, *src) &&
        !source_released(from, rel)) {
      whole_file = !start_chunked_copy(ctx_, from, to, rel, task, sink);
    }
    if (whole_file) read = apply_action(action, from, *src, to, dst, rel);
  } catch (const FsError& e) {
    if (e.err() != EEXIST || second_look) throw;
    // Someone made the entry after we looked: a repeated task (redelivered, or running twice on
    // two workers), or a directory we took for new. Look again and decide with what is there.
    Task careful = task;
    careful.target_is_new = false;
    return copy_entry(dirs, name, careful, sink, may_inherit_xattrs, true, attempt);
  }
  // Looked at once the target entry is complete, under its name and with its times: a change of
  // the source after this point leaves the source's ctime newer than the target's.
  if (changed_since(read, from, rel)) source_changed(dirs, name, task, sink, may_inherit_xattrs, *src, attempt, rel);
}

void CopyPass::source_changed(const DirPair& dirs, const std::string& name, const Task& task, TaskSink& sink,
                              InheritedXattrs& may_inherit_xattrs, const EntryMeta& src, int attempt,
                              const std::string& rel) {
  // The target may hold old bytes under the new mtime, or a mix: dropped, as a failed copy is, so
  // that no later pass takes it for unchanged. A hard-link group's inode also gets another mtime,
  // for the names that already link to it, and leaves the staging area, so no further name does.
  unsettle_other_names(dirs.dst.get(), name.c_str(), rel);
  if (unlinkat(dirs.dst.get(), name.c_str(), 0) < 0 && errno != ENOENT) throw FsError("remove", rel, errno);
  if (src.nlink > 1) farm_.forget(src);
  constexpr int kAttempts = 3;
  if (attempt + 1 < kAttempts) {
    ctx_.note("changed-during-copy(again)", rel);
    Task careful = task;
    careful.target_is_new = false;
    return copy_entry(dirs, name, careful, sink, may_inherit_xattrs, true, attempt + 1);
  }
  PassStats::add(ctx_.stats().changed_during_copy);
  spdlog::warn("'{}' changed on the source while it was copied ({} tries): left off the target, the next pass "
               "copies it", printable(rel), kAttempts);
}

bool CopyPass::source_released(EntryLocation from, const std::string& rel) const {
  const auto& lustre = ctx_.options().lustre;
  if (!lustre) return false;
  UniqueFd in = open_source_file(from, rel);
  return lustre->hsm().released(in.get(), rel).has_value();
}

bool CopyPass::wants_new_layout(const DirPair& dirs, const std::string& name, const EntryMeta& src,
                                const std::string& rel) {
  const auto& lustre = ctx_.options().lustre;
  // Hard-linked files keep theirs: rewriting one name would split the link group.
  if (!ctx_.options().relayout || !lustre || src.type != EntryType::kRegular || src.nlink > 1) return false;
  return lustre->needs_relayout(dirs.src.get(), dirs.dst.get(), name.c_str(), src.size, rel);
}

SourceSnapshot CopyPass::apply_action(CopyAction action, EntryLocation from, const EntryMeta& src, EntryLocation to,
                                      const std::optional<EntryMeta>& dst, const std::string& rel) {
  switch (action) {
    case CopyAction::kReplace:
      PassStats::add(ctx_.stats().removed, remove_entry(to.dir_fd, to.name, rel, nullptr));
      return create_entry(ctx_, from, src, to, rel);
    case CopyAction::kCreate: return create_entry(ctx_, from, src, to, rel);
    case CopyAction::kRewrite: return rewrite_entry(ctx_, from, src, to, rel);
    case CopyAction::kUpdateMetadata: return update_entry_metadata(ctx_, from, src, to, *dst, rel);
    case CopyAction::kCheckContent: {
      if (!same_data(ctx_, from, src, to, rel)) return rewrite_entry(ctx_, from, src, to, rel);
      SourceSnapshot read = update_entry_metadata(ctx_, from, src, to, *dst, rel);
      mark_data_settled(to, src, rel);
      return read;
    }
    case CopyAction::kLinkGroup: {
      // The target inode is adopted for the group only if it holds the data: its size and mtime
      // say so unless the source changed since (a rewrite that put the mtime back).
      bool has_content = dst && !ctx_.options().rewrite && same_content(src, *dst) &&
                         (newer(dst->ctime, src.ctime) || same_data(ctx_, from, src, to, rel));
      ctx_.settling_link_group(rel);
      return farm_.settle(from, src, to, dst, has_content, rel);
    }
    case CopyAction::kNone: break;
  }
  return {};
}

// A directory whose names changed: its entries, one level. An entry: settled by its parent and
// name (a directory's own metadata, not its contents). A directory new or renamed on the source:
// made and walked whole. The root's own metadata is prepare()'s.
std::optional<Task> CopyPass::task_for(const ChangedPlace& place, bool is_dir, const Task& parent) const {
  switch (place.kind) {
    case ChangedPlace::Kind::kListing:
      if (is_dir) return listing_task(parent, place.rel);
      return std::nullopt;
    case ChangedPlace::Kind::kEntry:
      if (place.rel.empty()) return std::nullopt;
      return entry_task(parent, place.rel, false);
    case ChangedPlace::Kind::kSubtree:
      if (place.rel.empty()) return subtree_task(parent, place.rel);
      return entry_task(parent, place.rel, true);
    case ChangedPlace::Kind::kTimes:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace lmover
