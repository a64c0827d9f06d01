#include "passes/hardlink_farm.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <thread>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "fs/fs_error.h"
#include "fs/dir_reader.h"
#include "fs/node_ops.h"
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
  if (auto farm = stat_if_exists(ctx_.dst_root(), kHardlinkFarmName, kHardlinkFarmName);
      farm && farm->type == EntryType::kDirectory) {
    unsettle_changed_groups(open_dir_at(ctx_.dst_root(), kHardlinkFarmName, kHardlinkFarmName).get());
  }
  // Nothing of the run writes here any more (its tasks are all done, and a worker out of touch with
  // the broker gives its task up before its next write). Should an entry still appear while the
  // area goes, it is looked at and removed once more, a few times; then the failure names it.
  for (int attempt = 0;; ++attempt) {
    try {
      uint64_t n = remove_entry(ctx_.dst_root(), kHardlinkFarmName, kHardlinkFarmName, nullptr);
      spdlog::debug("hard-link staging area: {} entries removed", n);
      return;
    } catch (const FsError& e) {
      if (e.err() != ENOTEMPTY || attempt == 4) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
      if (auto farm = stat_if_exists(ctx_.dst_root(), kHardlinkFarmName, kHardlinkFarmName);
          farm && farm->type == EntryType::kDirectory) {
        unsettle_changed_groups(open_dir_at(ctx_.dst_root(), kHardlinkFarmName, kHardlinkFarmName).get());
      }
    }
  }
}

void HardlinkFarm::unsettle_changed_groups(int farm) {
  constexpr std::string_view kSrc = ".src";
  std::vector<std::string> sources;
  {
    DirReader reader(farm, kHardlinkFarmName);
    DirEntry e;
    while (reader.next(e)) {
      std::string_view name(e.name);
      if (name.size() > kSrc.size() && name.substr(name.size() - kSrc.size()) == kSrc) sources.emplace_back(name);
    }
  }
  for (const std::string& link : sources) {
    std::string key = link.substr(0, link.size() - kSrc.size());
    unsigned long long dev, ino;
    long long sec, nsec;
    if (std::sscanf(key.c_str(), "%llx-%llx-%llx.%llx", &dev, &ino, &sec, &nsec) != 4) continue;
    // Held open, then unlinked, and only then is the source looked at: the unlink is the last
    // thing that moves the inode's ctime, so a source change after the look is newer than it.
    // Only data can hide behind a ctime: groups of FIFOs or devices are left to the change rule.
    UniqueFd staged(openat(farm, key.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!staged.valid()) continue;  // forgotten: its copier saw the change itself
    EntryMeta target = stat_fd(staged.get(), key);
    if (target.type != EntryType::kRegular) continue;
    if (unlinkat(farm, key.c_str(), 0) < 0) throw FsError("remove", std::string(kHardlinkFarmName) + "/" + key, errno);
    // A source path that is gone or unreachable counts as moved on: the next pass decides.
    int err = 0;
    auto now = stat_beneath(ctx_.src_root(), read_link(farm, link.c_str(), link), &err);
    if (now && now->ino == ino && now->ctime.tv_sec == sec && now->ctime.tv_nsec == nsec) continue;
    // Any mtime but the source's: the next pass copies the group again.
    nudge_mtime(NodeRef{farm, key.c_str(), key, staged.get()}, target);
  }
}

namespace {

std::string farm_key(const EntryMeta& meta) {
  return fmt::format("{:x}-{:x}-{:x}.{:x}", meta.dev, meta.ino, meta.ctime.tv_sec, meta.ctime.tv_nsec);
}

}  // namespace

void HardlinkFarm::forget(const EntryMeta& meta) {
  std::string key = farm_key(meta);
  unlinkat(farm_fd(), key.c_str(), 0);
}

void HardlinkFarm::link_into_place(int farm, const char* key, EntryLocation dst,
                                   const std::optional<EntryMeta>& existing, std::string_view rel) {
  if (existing && existing->type == EntryType::kDirectory) {
    PassStats::add(ctx_.stats().removed, remove_entry(dst.dir_fd, dst.name, rel, nullptr));
  } else if (existing) {
    // Link aside, then rename over: the name never disappears.
    std::string staged = temp_name();
    check(linkat(farm, key, dst.dir_fd, staged.c_str(), 0), "link", rel);
    unsettle_other_names(dst.dir_fd, dst.name, rel);
    rename_into_place(dst.dir_fd, staged, dst.name, rel);
    // A rename onto another name of the same inode succeeds and does nothing (rename(2)), leaving
    // the staged name: the case when another task linked this name to the group meanwhile (a
    // changelog-driven pass can reach one name from two places).
    unlinkat(dst.dir_fd, staged.c_str(), 0);
    PassStats::add(ctx_.stats().links_made);
    return;
  }
  if (linkat(farm, key, dst.dir_fd, dst.name, 0) < 0) {
    int err = errno;
    auto there = err == EEXIST ? stat_if_exists(dst.dir_fd, dst.name, rel) : std::nullopt;
    auto farmed = there ? stat_if_exists(farm, key, rel) : std::nullopt;
    if (!(there && farmed && there->dev == farmed->dev && there->ino == farmed->ino)) throw FsError("link", rel, err);
    return;  // linked by another task meanwhile
  }
  PassStats::add(ctx_.stats().links_made);
}

SourceSnapshot HardlinkFarm::settle(EntryLocation src, const EntryMeta& meta, EntryLocation dst,
                                    const std::optional<EntryMeta>& existing, bool existing_has_content,
                                    std::string_view rel) {
  int farm = farm_fd();
  std::string key = farm_key(meta);
  // Whoever copied the group's data, this name was settled by `meta`: if the source moved on
  // since, this member drops its name and looks again.
  SourceSnapshot settled_by{UniqueFd(), meta, true};
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (auto farmed = stat_if_exists(farm, key.c_str(), rel)) {
      if (existing && existing->dev == farmed->dev && existing->ino == farmed->ino) {
        PassStats::add(ctx_.stats().unchanged);
        return settled_by;
      }
      link_into_place(farm, key.c_str(), dst, existing, rel);
      return settled_by;
    }
    // Adopt the target's own inode when it already has the content and is not shared with more
    // names than the source group has (more would mean it belongs to something bigger).
    if (existing && existing_has_content && existing->nlink <= meta.nlink) {
      update_entry_metadata(ctx_, src, meta, dst, *existing, rel);
      if (linkat(dst.dir_fd, dst.name, farm, key.c_str(), 0) == 0) return settled_by;
      if (errno != EEXIST) throw FsError("link into hard-link farm", rel, errno);
      continue;  // another member was faster: use its inode
    }
    std::string staged = temp_name();
    create_entry(ctx_, src, meta, EntryLocation{farm, staged.c_str()}, rel);
    // Where the farm's removal looks at the source once more, made before the key so that no key
    // is ever without it (any member's path will do: they name one inode). Past PATH_MAX there is
    // no symlink for it: such a group relies on its members' own checks alone.
    symlinkat(std::string(rel).c_str(), farm, (key + ".src").c_str());
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
