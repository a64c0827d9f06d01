#include "passes/copy_decision.h"

namespace lmover {

std::string_view action_name(CopyAction action) {
  switch (action) {
    case CopyAction::kNone: return "unchanged";
    case CopyAction::kCreate: return "create";
    case CopyAction::kReplace: return "replace";
    case CopyAction::kRewrite: return "rewrite";
    case CopyAction::kUpdateMetadata: return "update-metadata";
    case CopyAction::kLinkGroup: return "link";
  }
  return "?";
}

bool same_content(const EntryMeta& src, const EntryMeta& dst) {
  if (src.type != dst.type) return false;
  switch (src.type) {
    case EntryType::kDirectory: return true;
    case EntryType::kCharDevice:
    case EntryType::kBlockDevice:
      if (src.rdev != dst.rdev) return false;
      break;
    default: break;
  }
  return src.size == dst.size && same_time(src.mtime, dst.mtime);
}

static bool same_metadata(const EntryMeta& src, const EntryMeta& dst) {
  if (src.perm != dst.perm || src.uid != dst.uid || src.gid != dst.gid) return false;
  // atime is set whenever we write an entry but is not compared: reading a file or symlink (a
  // backup, a checksum run, readlink) changes it without changing the entry.
  return !newer(src.ctime, dst.ctime);
}

CopyAction decide_copy(const EntryMeta& src, const std::optional<EntryMeta>& dst) {
  bool dir = src.type == EntryType::kDirectory;
  bool linked = !dir && src.nlink > 1;
  if (!dst) return linked ? CopyAction::kLinkGroup : CopyAction::kCreate;
  if (src.type != dst->type) return linked ? CopyAction::kLinkGroup : CopyAction::kReplace;
  if (dir) return same_metadata(src, *dst) ? CopyAction::kNone : CopyAction::kUpdateMetadata;

  bool content = same_content(src, *dst);
  bool metadata = same_metadata(src, *dst);
  // Link structure is judged by the link count: a source link added or broken changes nlink on
  // the source inode, so it no longer matches the target's.
  if (linked) return (content && metadata && src.nlink == dst->nlink) ? CopyAction::kNone : CopyAction::kLinkGroup;
  // A lone source file whose target is still shared with other names must get an inode of its own:
  // writing into the shared one would change the other names too.
  if (!content || dst->nlink > 1) return CopyAction::kRewrite;
  return metadata ? CopyAction::kNone : CopyAction::kUpdateMetadata;
}

}  // namespace lmover
