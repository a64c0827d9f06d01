// Data versions: Lustre's llapi_get_data_version changes with every write or truncate of a file's
// objects, restores nothing and reads no data. lmover takes it before and after each copy of a
// Lustre source file (a version that moved means the bytes may be a mix: the copy is dropped and
// done again, the rule `lfs migrate` follows), and keeps the version it copied on the target file
// in an xattr of its own. A later pass that cannot tell from the times whether the data changed
// (a ctime not older than the target's: a change in the very second of our write, or a rewrite
// that put the mtime back) compares versions instead of reading both files.
//
// The xattr is in the trusted namespace (root only) and is filesystem-internal to lmover: never
// copied, compared or reported by verify (fs/xattrs.h). It holds the source's FID too, so a version
// of another file renamed over the source never matches.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "lustre/lustre_api.h"

namespace lmover {

inline constexpr const char* kDataVersionXattr = "trusted.lmover.dv";

struct SourceVersion {
  Fid fid;
  uint64_t version = 0;
  bool operator==(const SourceVersion&) const = default;
  std::string text() const;  // "[0x200000401:0x1:0x0] 0x1a2b"
  static std::optional<SourceVersion> parse(std::string_view text);
};

// The version of the source file open at `fd`; nullopt when it has none (not on Lustre, no
// objects yet). `flush`: other clients' dirty pages are flushed first, as before a copy.
std::optional<SourceVersion> source_version(const LustreApi& api, int fd, bool flush);

// Keeps `version` on the target file open at `fd`. Quietly does nothing where trusted xattrs
// cannot be written (not root, a filesystem without them): the change rule then reads data, as
// without Lustre. Throws FsError naming `rel` on other failures.
void record_version(int fd, const SourceVersion& version, std::string_view rel);

// The version kept on the target file open at `fd`; nullopt when it has none.
std::optional<SourceVersion> recorded_version(int fd);

}  // namespace lmover
