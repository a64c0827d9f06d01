#include "passes/entry_copy.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "fs/data_copy.h"
#include "fs/fs_error.h"
#include "fs/node_ops.h"
#include "fs/project_id.h"
#include "fs/resolve.h"
#include "fs/xattrs.h"

namespace lmover {
namespace {

MetadataPlan plan_for_new(const PassContext& ctx, EntryLocation dst) {
  MetadataPlan plan = ctx.options().metadata;
  plan.new_without_inherited_xattrs = !dst.may_inherit_xattrs;
  return plan;
}

void copy_regular(const PassContext& ctx, EntryLocation src, EntryLocation dst, std::string_view rel) {
  UniqueFd in = open_source_file(src, rel);
  // The metadata of the very inode we read, not of whatever the name held at listing time.
  EntryMeta meta = stat_fd(in.get(), rel);
  if (meta.type != EntryType::kRegular) throw FsError("copy", rel, "entry changed type during the pass");
  const auto& lustre = ctx.options().lustre;
  UniqueFd out = lustre ? lustre->create_file(in.get(), meta.size, dst.dir_fd, dst.name, rel) : create_file(dst.dir_fd, dst.name, rel);
  uint64_t bytes = copy_data(in.get(), out.get(), meta, rel);
  copy_project_id(in.get(), out.get(), rel);
  XattrList xattrs = xattrs_to_copy(ctx, NodeRef{src.dir_fd, src.name, rel, in.get()});
  apply_metadata(NodeRef{dst.dir_fd, dst.name, rel, out.get()}, meta, xattrs, nullptr, plan_for_new(ctx, dst));
  PassStats::add(ctx.stats().files_copied);
  PassStats::add(ctx.stats().bytes_copied, bytes);
}

void copy_special(const PassContext& ctx, EntryLocation src, const EntryMeta& listed, EntryLocation dst,
                  std::string_view rel) {
  std::string target;
  EntryMeta meta = listed;
  if (listed.type == EntryType::kSymlink) {
    bool pinned = src.pinned >= 0;
    target = pinned ? read_link(src.pinned, "", rel) : read_link(src.dir_fd, src.name, rel);
    // readlink may just have bumped the symlink's atime: copy the times it has now.
    meta = pinned ? stat_fd(src.pinned, rel) : stat_at(src.dir_fd, src.name, rel);
    if (meta.type != EntryType::kSymlink) throw FsError("copy", rel, "entry changed type during the pass");
  }
  create_special(dst.dir_fd, dst.name, meta, target, rel);
  XattrList xattrs = xattrs_to_copy(ctx, NodeRef{src.dir_fd, src.name, rel});
  apply_metadata(NodeRef{dst.dir_fd, dst.name, rel}, meta, xattrs, nullptr, plan_for_new(ctx, dst));
  PassStats::add(ctx.stats().specials_created);
}

}  // namespace

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

bool copy_project_id(int src_fd, int dst_fd, std::string_view rel) {
  return sync_project_id(dst_fd, read_project_id(src_fd, rel).value_or(ProjectId{}), rel);
}

XattrList xattrs_to_copy(const PassContext& ctx, const NodeRef& node) {
  return ctx.options().metadata.xattrs ? read_xattrs(node) : XattrList();
}

void create_entry(const PassContext& ctx, EntryLocation src, const EntryMeta& meta, EntryLocation dst,
                  std::string_view rel) {
  try {
    if (meta.type == EntryType::kRegular) {
      copy_regular(ctx, src, dst, rel);
    } else {
      copy_special(ctx, src, meta, dst, rel);
    }
  } catch (const FsError& e) {
    // EEXIST means the name was never ours to remove.
    if (e.err() != EEXIST) unlinkat(dst.dir_fd, dst.name, 0);
    throw;
  }
}

void rewrite_entry(const PassContext& ctx, EntryLocation src, const EntryMeta& meta, EntryLocation dst,
                   std::string_view rel) {
  std::string staged = temp_name();
  create_entry(ctx, src, meta, EntryLocation{dst.dir_fd, staged.c_str(), dst.may_inherit_xattrs}, rel);
  if (renameat(dst.dir_fd, staged.c_str(), dst.dir_fd, dst.name) < 0) {
    int err = errno;
    unlinkat(dst.dir_fd, staged.c_str(), 0);
    throw FsError("rename into place", rel, err);
  }
}

void update_entry_metadata(const PassContext& ctx, EntryLocation src, const EntryMeta& meta, EntryLocation dst,
                           const EntryMeta& current, std::string_view rel) {
  XattrList xattrs = xattrs_to_copy(ctx, NodeRef{src.dir_fd, src.name, rel});
  bool wrote = apply_metadata(NodeRef{dst.dir_fd, dst.name, rel}, meta, xattrs, &current, ctx.options().metadata);
  if (meta.type == EntryType::kRegular) {  // project ids need the files open; a symlink has none here
    UniqueFd in = open_source_file(src, rel);
    int out = openat(dst.dir_fd, dst.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (out < 0) throw FsError("open", rel, errno);
    UniqueFd out_fd(out);
    wrote = copy_project_id(in.get(), out_fd.get(), rel) || wrote;
  }
  PassStats::add(wrote ? ctx.stats().metadata_updated : ctx.stats().unchanged);
}

}  // namespace lmover
