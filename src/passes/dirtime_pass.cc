#include "passes/dirtime_pass.h"

#include <dirent.h>

#include <cerrno>
#include <optional>
#include <string>

#include "fs/dir_reader.h"
#include "fs/entry_meta.h"
#include "fs/fs_error.h"
#include "fs/node_ops.h"
#include "passes/dir_pair.h"

namespace lmover {

namespace {

// The mtime decides, as for files: any read of the target (a user's ls, a find, a backup scan)
// moves a directory's atime, and setting it back would move the ctime of every directory read,
// 10^8 setattrs in the downtime after one find. Such a read is told by the atime it leaves: at or
// after the ctime our setattr left, and after the mtime. An equal mtime is no proof on its own: a
// directory the copy made (or filled) in the same clock tick as the source's last change has the
// source's mtime by chance (timestamps come from a clock that moves every few ms) and its own
// birth time as atime, which no pass ever set. And a source atime a user's listing moved, mtime
// unchanged, is a change to follow like any other.
bool times_already_set(const EntryMeta& src, const EntryMeta& dst) {
  if (!same_time(src.mtime, dst.mtime)) return false;
  if (same_time(src.atime, dst.atime)) return true;
  bool read_since_set = newer(dst.atime, dst.mtime) && !newer(dst.ctime, dst.atime);
  return read_since_set;
}

}  // namespace

void DirtimePass::handle(const Task& task, TaskSink& sink) {
  try {
    set_directory_times(task, sink);
  } catch (const FsError& e) {
    ctx_.fail_unless_vanished(e);
  }
}

void DirtimePass::set_directory_times(const Task& task, TaskSink& sink) {
  // A shallow task (a changelog's directory times) only stats the source directory: not opened.
  DirPair dirs = DirPair::open(ctx_, task, ctx_.dry_run(), task.shallow);
  PassStats::add(ctx_.stats().entries);
  // The source directory is open O_NOATIME, so its atime is still the one users left.
  EntryMeta src = stat_fd(dirs.src.get(), task.dir);
  std::optional<EntryMeta> dst;
  if (dirs.dst.valid()) dst = stat_fd(dirs.dst.get(), task.dir);
  if (dst && times_already_set(src, *dst)) {
    PassStats::add(ctx_.stats().unchanged);
  } else {
    ctx_.note("set-times", task.dir.empty() ? "." : task.dir);
    if (!ctx_.dry_run()) apply_times(NodeRef{dirs.dst.get(), ".", task.dir, dirs.dst.get()}, src, nullptr);
    PassStats::add(ctx_.stats().dir_times_set);
  }

  if (task.shallow) return;  // its own times: changed subdirectories are places of their own
  DirReader reader(dirs.src.get(), task.dir);
  DirEntry e;
  while (reader.next(e)) {
    if (e.d_type != DT_DIR && e.d_type != DT_UNKNOWN) continue;
    std::string rel = join_rel(task.dir, e.name);
    if (ctx_.filters().excluded(rel) || ctx_.filters().reach(rel) == Filters::Reach::kNone) continue;
    try {
      // DT_DIR needs no stat: the child's own open refuses anything that is not a directory. That
      // open is done here when the pair can be handed on, from the parent's fds.
      if (e.d_type == DT_DIR) {
        Task child = task.child_directory(std::move(rel));
        dirs.hand_on_child(e.name, child);
        sink.submit(std::move(child));
        continue;
      }
      auto meta = stat_if_exists(dirs.src.get(), e.name, rel);
      if (meta && meta->type == EntryType::kDirectory) sink.submit(task.child_directory(std::move(rel)));
    } catch (const FsError& err) {
      ctx_.fail_unless_vanished(err);
    }
  }
}

// A directory's times: its own where its names, its metadata or an entry in it changed (kTimes),
// every one below it in a directory new or renamed on the source.
std::optional<Task> DirtimePass::task_for(const ChangedPlace& place, bool is_dir, const Task& parent) const {
  if (!is_dir) return std::nullopt;
  if (place.kind == ChangedPlace::Kind::kSubtree) return subtree_task(parent, place.rel);
  return listing_task(parent, place.rel);
}

}  // namespace lmover
