#include "passes/copy_decision.h"

#include <algorithm>

namespace lmover {

bool ChangeRule::gid_kept(gid_t gid) const {
  if (uid) return true;
  return settable_groups && std::find(settable_groups->begin(), settable_groups->end(), gid) != settable_groups->end();
}

bool ChangeRule::mode_differs(const EntryMeta& src, const EntryMeta& dst) const {
  mode_t compared = gid_kept(src.gid) ? 07777 : 07777 & ~static_cast<mode_t>(S_ISGID);
  return (src.perm & compared) != (dst.perm & compared);
}

bool ChangeRule::owners_differ(const EntryMeta& src, const EntryMeta& dst) const {
  return (uid && src.uid != dst.uid) || (gid_kept(src.gid) && src.gid != dst.gid);
}

std::string_view action_name(CopyAction action) {
  switch (action) {
    case CopyAction::kNone: return "unchanged";
    case CopyAction::kCreate: return "create";
    case CopyAction::kReplace: return "replace";
    case CopyAction::kRewrite: return "rewrite";
    case CopyAction::kUpdateMetadata: return "update-metadata";
    case CopyAction::kLinkGroup: return "link";
    case CopyAction::kCheckContent: return "check-content";
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

bool same_metadata(const EntryMeta& src, const EntryMeta& dst, const ChangeRule& rule) {
  if (rule.mode_differs(src, dst) || rule.owners_differ(src, dst)) return false;
  // atime is set whenever we write an entry but is not compared: reading a file or symlink (a
  // backup, a checksum run, readlink) changes it without changing the entry.
  return !newer(src.ctime, dst.ctime);
}

CopyAction decide_copy(const EntryMeta& src, const std::optional<EntryMeta>& dst, const ChangeRule& rule) {
  bool dir = src.type == EntryType::kDirectory;
  bool linked = !dir && src.nlink > 1;
  if (!dst) return linked ? CopyAction::kLinkGroup : CopyAction::kCreate;
  if (src.type != dst->type) return linked ? CopyAction::kLinkGroup : CopyAction::kReplace;
  if (dir) return same_metadata(src, *dst, rule) && !rule.rewrite ? CopyAction::kNone : CopyAction::kUpdateMetadata;

  bool content = same_content(src, *dst) && !rule.rewrite;
  bool metadata = same_metadata(src, *dst, rule);
  // The data are known to be ours only if the source last changed before we last wrote the
  // target: a ctime equal to the target's is a change in the very clock tick of our write, which
  // may have come after it (the metadata need no such care: they are compared themselves).
  bool data_may_differ = src.type == EntryType::kRegular || src.type == EntryType::kSymlink;
  bool data_settled = !data_may_differ || newer(dst->ctime, src.ctime);
  // Link structure is judged by the link count: a source link added or broken changes nlink on
  // the source inode, so it no longer matches the target's.
  if (linked) {
    return (content && metadata && data_settled && src.nlink == dst->nlink) ? CopyAction::kNone : CopyAction::kLinkGroup;
  }
  // A lone source file whose target is still shared with other names must get an inode of its own:
  // writing into the shared one would change the other names too.
  if (!content || dst->nlink > 1) return CopyAction::kRewrite;
  if (metadata && data_settled) return CopyAction::kNone;
  // The source inode changed after (or as) the target was written, yet size and mtime match: a
  // chmod, or data rewritten and the mtime put back. Only the data can tell.
  if (!data_settled) return CopyAction::kCheckContent;
  return CopyAction::kUpdateMetadata;
}

}  // namespace lmover
