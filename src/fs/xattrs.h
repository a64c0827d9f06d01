// Extended attributes, POSIX ACLs included: ACLs live in system.posix_acl_access/default, and
// copying those values byte for byte preserves them exactly (numeric ids, default ACLs on dirs).
// Lustre's own xattrs (layout, FID, links, HSM, SOM) are never copied as plain attributes: the
// target filesystem owns them and layouts are set through liblustreapi before any data is written.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fs/node_ref.h"

namespace lmover {

// Sorted by name.
using XattrList = std::vector<std::pair<std::string, std::string>>;

// Names a filesystem keeps for itself (Lustre's layouts, FIDs, HSM state, LMV...) or lmover keeps
// on the target (its data-version record, lustre/data_version.h): never copied, compared, removed.
bool is_filesystem_internal_xattr(std::string_view name);

// The names of all xattrs of a node, in the filesystem's order. ENOTSUP counts as "none".
std::vector<std::string> list_xattr_names(const NodeRef& node);

// All xattrs of a node except filesystem-internal ones. ENOTSUP counts as "none".
XattrList read_xattrs(const NodeRef& node);

// File capabilities: the kernel clears them on chown and on write, so they are set after owner,
// mode and data, never with the other xattrs.
inline constexpr const char* kCapabilityXattr = "security.capability";

// Makes the node's xattrs equal to `wanted`: removes extra ones, sets missing or different ones;
// `except` (if given) is left as it is on both sides. Writes nothing when they already match.
// Returns true if anything was written.
bool sync_xattrs(const NodeRef& node, const XattrList& wanted, std::string_view except = {});

// Makes the one xattr `key` equal to its entry in `wanted`, or absent when `wanted` has none.
// Returns true if anything was written.
bool sync_one_xattr(const NodeRef& node, const XattrList& wanted, const std::string& key);

}  // namespace lmover
