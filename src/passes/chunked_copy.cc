#include "passes/chunked_copy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "fs/data_copy.h"
#include "fs/fs_error.h"
#include "fs/node_ops.h"
#include "fs/project_id.h"
#include "fs/resolve.h"
#include "fs/xattrs.h"
#include "lustre/layout.h"
#include "lustre/lustre_target.h"
#include "passes/dir_pair.h"

namespace lmover {
namespace {

// "<pieces> <size> <mtime s> <mtime ns> <inode> <ctime s> <ctime ns>": the source version the part
// is built from. Size and mtime alone would let a rewrite at the same size, touched back, resume a
// part half made of the old bytes; the inode and ctime change with any rewrite or replacement.
// (Not st_dev: on Lustre and NFS it differs between the nodes that run the chunks.)
constexpr const char* kPlan = "user.lmover.plan";
constexpr const char* kPiece = "user.lmover.piece.";  // + index: that range is written
constexpr const char* kFinal = "user.lmover.final";  // the index of the chunk that finishes the file
constexpr const char* kMarks = "user.lmover.";       // the prefix of all three

struct Plan {
  uint64_t pieces = 0, size = 0, ino = 0;
  int64_t mtime_s = 0, mtime_ns = 0, ctime_s = 0, ctime_ns = 0;
};

std::string plan_text(uint64_t pieces, const EntryMeta& m) {
  return fmt::format("{} {} {} {} {} {} {}", pieces, m.size, m.mtime.tv_sec, m.mtime.tv_nsec, m.ino, m.ctime.tv_sec,
                     m.ctime.tv_nsec);
}

// Named after the file's path alone, not the task that found it (batches are cut afresh by each
// run), so that a run after an interrupted one finds the part and resumes it.
std::string part_name(const std::string& rel) {
  return fmt::format(".lmover-part-{:016x}", derive_task_id(0, TaskKind::kChunk, rel));
}

std::optional<Plan> read_plan(int fd) {
  char buf[128];
  ssize_t n = fgetxattr(fd, kPlan, buf, sizeof buf - 1);
  if (n < 0) return std::nullopt;
  buf[n] = 0;
  Plan p;
  unsigned long long pieces, size, ino;
  long long s, ns, cs, cns;
  // A plan of an older lmover (no inode and ctime) does not parse: its part is made afresh.
  if (std::sscanf(buf, "%llu %llu %lld %lld %llu %lld %lld", &pieces, &size, &s, &ns, &ino, &cs, &cns) != 7) {
    return std::nullopt;
  }
  p.pieces = pieces, p.size = size, p.mtime_s = s, p.mtime_ns = ns, p.ino = ino, p.ctime_s = cs, p.ctime_ns = cns;
  return p;
}

bool matches(const Plan& p, const EntryMeta& m) {
  return m.type == EntryType::kRegular && p.size == static_cast<uint64_t>(m.size) && p.mtime_s == m.mtime.tv_sec &&
         p.mtime_ns == m.mtime.tv_nsec && p.ino == static_cast<uint64_t>(m.ino) && p.ctime_s == m.ctime.tv_sec &&
         p.ctime_ns == m.ctime.tv_nsec;
}

// The names of the file's xattrs that are our marks.
std::vector<std::string> mark_names(int fd, const std::string& rel) {
  std::vector<std::string> out;
  for (std::string& name : list_xattr_names(NodeRef{-1, "", rel, fd})) {
    if (name.rfind(kMarks, 0) == 0) out.push_back(std::move(name));
  }
  return out;
}

// How many pieces the part file says are written.
uint64_t pieces_done(int fd, const std::string& rel) {
  uint64_t done = 0;
  for (const std::string& mark : mark_names(fd, rel)) done += mark.rfind(kPiece, 0) == 0;
  return done;
}

bool has_xattr(int fd, const std::string& key) { return fgetxattr(fd, key.c_str(), nullptr, 0) >= 0; }

// Our marks, as xattrs to keep while the metadata is applied (the source has none of them).
XattrList marks_of(int fd, const std::string& rel) {
  XattrList out;
  for (const auto& [key, value] : read_xattrs(NodeRef{-1, "", rel, fd})) {
    if (key.rfind(kMarks, 0) == 0) out.emplace_back(key, value);
  }
  return out;
}

void remove_marks(int fd, const std::string& rel) {
  for (const std::string& mark : mark_names(fd, rel)) fremovexattr(fd, mark.c_str());
}

// Whether the finish claim on the file open at `fd` is held by chunk `me`.
bool claim_held_by(int fd, const std::string& me) {
  char holder[32] = {};
  ssize_t n = fgetxattr(fd, kFinal, holder, sizeof holder - 1);
  return n >= 0 && std::string(holder, static_cast<size_t>(n)) == me;
}

// Drops `entry` (the part, or the file just finished from it) in the target directory: its source
// changed since the plan. Counted by the one chunk whose unlink takes it away.
void drop_changed(const PassContext& ctx, const DirPair& dirs, const std::string& entry) {
  if (unlinkat(dirs.dst.get(), entry.c_str(), 0) == 0) PassStats::add(ctx.stats().changed_during_copy);
}

// Whether `part` in the target directory is still the inode open at `fd`.
bool still_named(const DirPair& dirs, const std::string& part, int fd) {
  struct stat ours, named;
  return fstat(fd, &ours) == 0 && fstatat(dirs.dst.get(), part.c_str(), &named, AT_SYMLINK_NOFOLLOW) == 0 &&
         ours.st_ino == named.st_ino && ours.st_dev == named.st_dev;
}

bool is_mirrored(const LustreApi& api, int fd) {
  std::optional<Layout> layout = api.layout_of(fd);
  return layout && layout->mirror_count() > 1;
}

// Gives the complete part file its metadata and its name, then drops the marks. One chunk does it:
// the first to claim it (kFinal holds its index). Its own task run again (a worker killed -9
// mid-finish) takes it up again; no other chunk writes once every piece is marked.
void finish(const PassContext& ctx, const DirPair& dirs, const std::string& name, const std::string& part,
            const std::string& rel, UniqueFd& out_fd, int in, const Plan& plan, const EntryMeta& meta, uint32_t me) {
  int out = out_fd.get();
  std::string mine = std::to_string(me);
  bool claimed_now = fsetxattr(out, kFinal, mine.data(), mine.size(), XATTR_CREATE) == 0;
  if (!claimed_now) {
    if (errno != EEXIST) throw FsError("finish chunks", rel, errno);
    if (!claim_held_by(out, mine)) return;  // another chunk's to finish
  }
  // Only our own part file goes under the name. Another chunk may have finished it since this one
  // counted the pieces: its rename took the part name away and its dropping the marks let this
  // claim in, which must not stay behind on the finished file. And a part file made afresh
  // meanwhile (the source changed, the parent task ran again) is not ours to finish.
  if (!still_named(dirs, part, out)) {
    if (claimed_now) fremovexattr(out, kFinal);
    return;
  }
  // The chunks' writes made every FLR mirror but one stale: in sync again before the times.
  const auto& lustre = ctx.options().lustre;
  if (lustre && is_mirrored(lustre->api(), out)) {
    if (!lustre->sync_mirrors(out_fd, rel)) ctx.note("mirrors-left-stale", rel);
    out = out_fd.get();
  }
  XattrList xattrs = xattrs_to_copy(ctx, NodeRef{dirs.src.get(), name.c_str(), rel, in});
  XattrList marks = marks_of(out, rel);
  xattrs.insert(xattrs.end(), marks.begin(), marks.end());  // kept until the part has its name
  std::sort(xattrs.begin(), xattrs.end());
  copy_project_id(in, meta, out, rel);
  apply_metadata(NodeRef{dirs.dst.get(), part.c_str(), rel, out}, meta, xattrs, nullptr, ctx.options().metadata);
  if (!still_named(dirs, part, out)) return;
  // Looked at before the rename as well as after it: a change found now never gets the name, even
  // if this node dies before the look after the rename.
  if (!matches(plan, stat_fd(in, rel))) return drop_changed(ctx, dirs, part);
  if (renameat(dirs.dst.get(), part.c_str(), dirs.dst.get(), name.c_str()) < 0) throw FsError("rename into place", rel, errno);
  // Named and timed: a source change from here on leaves its ctime newer than the file's. One
  // before it would not, so it is looked for now, and the file dropped (the next pass copies it).
  if (!matches(plan, stat_fd(in, rel))) return drop_changed(ctx, dirs, name);
  remove_marks(out, rel);
  PassStats::add(ctx.stats().files_copied);
}

// A chunk run again after its part file was renamed into place: if the finisher died before
// dropping the marks, the finisher's own task (the claim holds its index) drops them and counts.
void tidy_finished(const PassContext& ctx, const DirPair& dirs, const std::string& name, const std::string& rel,
                   uint32_t me) {
  int fd = openat(dirs.dst.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;
  UniqueFd file(fd);
  if (!claim_held_by(fd, std::to_string(me))) return;
  remove_marks(fd, rel);
  PassStats::add(ctx.stats().files_copied);
}

uint64_t pieces_of(uint64_t size, uint64_t chunk) { return (size + chunk - 1) / chunk; }

// --chunk-size, aligned to the stripes of the part file open at `part_fd` on Lustre. The part's
// own layout decides, not the policy's wish: it is what the chunks write into, and it is the same
// whichever node reads it, so a redelivered parent task cuts the same chunks.
uint64_t chunk_size_for(const PassContext& ctx, int part_fd) {
  uint64_t wanted = ctx.options().chunk_size;
  const auto& lustre = ctx.options().lustre;
  if (!lustre) return wanted;
  std::optional<Layout> layout = lustre->api().layout_of(part_fd);
  return layout ? stripe_aligned_chunk(*layout, wanted) : wanted;
}

// Writes bytes [offset, offset + length) of `fd` back and waits for them: this range only, where
// fdatasync would also wait for every other chunk's dirty pages of the file (10% slower for four
// 1 GiB files on disk). Data already written back may still sit in the server's cache, which does
// not die with this node; on a local filesystem, the ordered journal commits the mark after them.
void write_back(int fd, uint64_t offset, uint64_t length, const std::string& rel) {
  unsigned flags = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
  if (sync_file_range(fd, static_cast<off_t>(offset), static_cast<off_t>(length), flags) == 0) return;
  if (errno != ESPIPE && errno != EINVAL && errno != ENOSYS) throw FsError("write back chunk", rel, errno);
  if (fdatasync(fd) < 0) throw FsError("sync chunk", rel, errno);
}

}  // namespace

bool wants_chunks(const PassContext& ctx, const EntryMeta& meta) {
  return meta.type == EntryType::kRegular && meta.nlink == 1 && ctx.options().in_chunks(static_cast<uint64_t>(meta.size));
}

void submit_chunk_tasks(const Task& parent, const std::string& name, const std::string& part, uint64_t size,
                        uint64_t chunk, TaskSink& sink) {
  for (uint64_t i = 0, pieces = pieces_of(size, chunk); i < pieces; ++i) {
    uint64_t offset = i * chunk;
    sink.submit(parent.child_chunk(parent.dir, name, part, static_cast<uint32_t>(i), offset, std::min(chunk, size - offset)));
  }
}

bool start_chunked_copy(const PassContext& ctx, EntryLocation from, EntryLocation to, const std::string& rel,
                        const Task& task, TaskSink& sink) {
  std::string name = to.name;
  std::string part = part_name(rel);
  UniqueFd in = open_source_file(from, rel);
  EntryMeta meta = stat_fd(in.get(), rel);  // the inode whose data the chunks will read
  if (meta.type != EntryType::kRegular) throw FsError("copy", rel, "entry changed type during the pass");
  // Planned only from a version whose ctime will move if it is written again (settle_source).
  if (!settle_source(in.get(), meta, rel)) {
    PassStats::add(ctx.stats().changed_during_copy);
    spdlog::warn("'{}' kept changing on the source: not copied, the next pass copies it", printable(rel));
    return true;
  }
  uint64_t size = static_cast<uint64_t>(meta.size);
  // This task ran before (a redelivery), or an earlier run was interrupted: if the part file is
  // there for the same source, its chunks are sent again (the same ids, the same bytes), and those
  // whose piece is marked done skip it: resumed, never restarted.
  int existing = openat(to.dir_fd, part.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (existing >= 0) {
    UniqueFd old(existing);
    std::optional<Plan> p = read_plan(old.get());
    uint64_t chunk = chunk_size_for(ctx, old.get());
    if (p && matches(*p, meta) && p->pieces == pieces_of(size, chunk)) {
      ctx.note(fmt::format("resume-chunks({}/{})", pieces_done(old.get(), rel), p->pieces), rel);
      submit_chunk_tasks(task, name, part, size, chunk, sink);
      return true;
    }
    unlinkat(to.dir_fd, part.c_str(), 0);  // for another version of the source: made afresh
  }
  const auto& lustre = ctx.options().lustre;
  UniqueFd out = lustre ? lustre->create_file(in.get(), meta.size, to.dir_fd, part.c_str(), rel)
                        : create_file(to.dir_fd, part.c_str(), rel);
  uint64_t chunk = chunk_size_for(ctx, out.get());
  std::string plan = plan_text(pieces_of(size, chunk), meta);
  if (ftruncate(out.get(), static_cast<off_t>(meta.size)) < 0 || fsetxattr(out.get(), kPlan, plan.data(), plan.size(), 0) < 0) {
    int err = errno;
    unlinkat(to.dir_fd, part.c_str(), 0);
    if (err == ENOTSUP || err == EOPNOTSUPP) return false;  // no place for the marks: copy it whole
    throw FsError("prepare chunks", rel, err);
  }
  ctx.note(fmt::format("copy-in-chunks({}x{})", pieces_of(size, chunk), chunk), rel);
  submit_chunk_tasks(task, name, part, size, chunk, sink);
  return true;
}

void drop_stale_marks(const PassContext& ctx, int dst_dir, const char* name, const std::string& rel) {
  if (ctx.dry_run()) return;
  int fd = openat(dst_dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;  // not there or not ours to open: nothing of ours on it either
  UniqueFd file(fd);
  remove_marks(fd, rel);
}

void copy_chunk(const PassContext& ctx, const Task& task) {
  DirPair dirs = DirPair::open(ctx, task, false);
  const std::string& name = task.names.at(0);
  const std::string& part = task.names.at(1);
  std::string rel = join_rel(task.dir, name);
  int fd = openat(dirs.dst.get(), part.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) throw FsError("open", rel, errno);
    return tidy_finished(ctx, dirs, name, rel, task.index);  // finished, or given up: nothing to write
  }
  UniqueFd out(fd);
  std::optional<Plan> plan = read_plan(out.get());
  if (!plan) return;
  UniqueFd in = open_source_file(EntryLocation{dirs.src.get(), name.c_str()}, rel);
  EntryMeta meta = stat_fd(in.get(), rel);
  // Changed since the chunks began (before this read, or during it): these bytes would mix two
  // versions. Given up; the next pass sees the file as new or changed and copies it again.
  if (!matches(*plan, meta)) return drop_changed(ctx, dirs, part);
  std::string piece = kPiece + std::to_string(task.index);
  // A piece already marked is never written again: once every piece is marked the file is being
  // finished, and a late write would move its mtime.
  if (!has_xattr(out.get(), piece)) {
    uint64_t bytes = copy_data_range(in.get(), out.get(), meta, static_cast<off_t>(task.offset),
                                     static_cast<off_t>(task.offset + task.length), rel);
    PassStats::add(ctx.stats().bytes_copied, bytes);
    // The mark outlives this node (on Lustre it lives on the MDT, the data in this client's cache
    // until written back): the bytes leave this node first, or a node that dies would leave a
    // marked piece that no one rewrites, under the source's mtime.
    write_back(out.get(), task.offset, task.length, rel);
    if (!matches(*plan, stat_fd(in.get(), rel))) return drop_changed(ctx, dirs, part);
    if (fsetxattr(out.get(), piece.c_str(), "", 0, 0) < 0) throw FsError("mark chunk", rel, errno);
  }
  if (pieces_done(out.get(), rel) < plan->pieces) return;
  finish(ctx, dirs, name, part, rel, out, in.get(), *plan, meta, task.index);
}

}  // namespace lmover
