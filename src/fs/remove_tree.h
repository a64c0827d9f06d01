// Removing an entry from the target, a whole directory tree if need be, by directory fds only.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

namespace lmover {

// Asked before each single removal; returning false stops the removal (e.g. --max-delete reached).
using RemovalBudget = std::function<bool()>;

// Removes `name` in `dir_fd` (recursively when it is a directory, never following symlinks).
// Returns the number of entries removed. Throws FsError on the first failure or when the budget
// refuses, leaving what it has not reached in place.
//
// With `shared_names`, every non-directory removed, nested ones too, that was one name of an inode
// with more (a hard-link group on the target) has the other names unsettled (node_ops.h) and is
// counted there: those names need another look by a copy pass.
uint64_t remove_entry(int dir_fd, const char* name, std::string_view rel, const RemovalBudget& budget,
                      uint64_t* shared_names = nullptr);

}  // namespace lmover
