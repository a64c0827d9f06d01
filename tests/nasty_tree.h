// The nasty tree: every kind of entry and attribute lmover promises to clone, in one small tree,
// plus the mutations users make between passes. Deterministic.
#pragma once

#include <string>

namespace lmover::test {

// Builds the tree under `root` (which must exist and be empty).
void build_nasty_tree(const std::string& root);

// Changes the tree the way users do between two passes: type changes both ways, rewrites with
// the same size, renames, deletions, xattr/ACL/mode/owner edits, new and broken hard links.
void mutate_nasty_tree(const std::string& root);

// A chain of directories whose path is far longer than PATH_MAX, with a file at the bottom.
void build_deep_chain(const std::string& root, int levels);

}  // namespace lmover::test
