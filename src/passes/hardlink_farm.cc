#include "passes/hardlink_farm.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <fmt/format.h>

#include "fs/fs_error.h"
#include "fs/remove_tree.h"
#include "fs/resolve.h"

namespace lmover {

int HardlinkFarm::farm_fd() {
  std::lock_guard lock(mutex_);
  if (!farm_.valid()) {
    if (mkdirat(ctx_.dst_root(), kHardlinkFarmName, 0700) < 0 && errno != EEXIST) {
      throw FsError("mkdir", kHardlinkFarmName, errno);
    }
    farm_ = open_dir_at(ctx_.dst_root(), kHardlinkFarmName, kHardlinkFarmName);
  }
  return farm_.get();
}

void HardlinkFarm::remove() {
  std::lock_guard lock(mutex_);
  farm_.reset();
  remove_entry(ctx_.dst_root(), kHardlinkFarmName, kHardlinkFarmName, nullptr);
}

void HardlinkFarm::link_into_place(int farm, const char* key, EntryLocation dst,
                                   const std::optional<EntryMeta>& existing, std::string_view rel) {
  if (existing && existing->type == EntryType::kDirectory) {
    PassStats::add(ctx_.stats().removed, remove_entry(dst.dir_fd, dst.name, rel, nullptr));
  } else if (existing) {
    // Link aside, then rename over: the name never disappears.
    std::string staged = temp_name();
    check(linkat(farm, key, dst.dir_fd, staged.c_str(), 0), "link", rel);
    if (renameat(dst.dir_fd, staged.c_str(), dst.dir_fd, dst.name) < 0) {
      int err = errno;
      unlinkat(dst.dir_fd, staged.c_str(), 0);
      throw FsError("rename into place", rel, err);
    }
    PassStats::add(ctx_.stats().links_made);
    return;
  }
  check(linkat(farm, key, dst.dir_fd, dst.name, 0), "link", rel);
  PassStats::add(ctx_.stats().links_made);
}

void HardlinkFarm::settle(EntryLocation src, const EntryMeta& meta, EntryLocation dst,
                          const std::optional<EntryMeta>& existing, bool existing_has_content, std::string_view rel) {
  int farm = farm_fd();
  std::string key = fmt::format("{:x}-{:x}", meta.dev, meta.ino);
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (auto farmed = stat_if_exists(farm, key.c_str(), rel)) {
      if (existing && existing->dev == farmed->dev && existing->ino == farmed->ino) {
        PassStats::add(ctx_.stats().unchanged);
        return;
      }
      link_into_place(farm, key.c_str(), dst, existing, rel);
      return;
    }
    // Adopt the target's own inode when it already has the content and is not shared with more
    // names than the source group has (more would mean it belongs to something bigger).
    if (existing && existing_has_content && existing->nlink <= meta.nlink) {
      update_entry_metadata(ctx_, src, meta, dst, *existing, rel);
      if (linkat(dst.dir_fd, dst.name, farm, key.c_str(), 0) == 0) return;
      if (errno != EEXIST) throw FsError("link into hard-link farm", rel, errno);
      continue;  // another member was faster: use its inode
    }
    std::string staged = temp_name();
    create_entry(ctx_, src, meta, EntryLocation{farm, staged.c_str()}, rel);
    int rc = linkat(farm, staged.c_str(), farm, key.c_str(), 0);
    int err = errno;
    unlinkat(farm, staged.c_str(), 0);
    if (rc < 0 && err != EEXIST) throw FsError("link into hard-link farm", rel, err);
    if (rc < 0) {
      // Another member won the race and its copy is the one that stays: ours is not counted, so
      // the counters say what landed on the target, whatever the timing.
      PassStats::subtract(meta.type == EntryType::kRegular ? ctx_.stats().files_copied : ctx_.stats().specials_created);
      if (meta.type == EntryType::kRegular) PassStats::subtract(ctx_.stats().bytes_copied, static_cast<uint64_t>(meta.size));
    }
  }
  throw FsError("link", rel, "hard-link group changed too often during the pass");
}

}  // namespace lmover
